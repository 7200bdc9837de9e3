"""The people and credits every benchmark works with, created fast.

The services have no bulk import, so people go straight into the gateway's database (one COPY, one
password hash shared by all) and are announced exactly as `python -m gateway seed` announces its demo
people: `gateway.directory.announce` writes a `gateway.directory.user_changed` event per person to the
gateway's outbox, its relay publishes them, and the ledger, billing and reporting apply them from their
queues. Opening balances are written straight into the ledger's database as one `purchase`
transaction per account, postings included, so the ledger's own invariant check still holds.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from dataclasses import dataclass

import asyncpg

from bench import infra
from bench.system import System
from common.accounts import SYSTEM, WORLD, account_id, user_code
from common.db import connect
from gateway.directory.domain import Person, Tenant
from gateway.directory.events import announce
from gateway.web.auth import hash_password

PASSWORD = "bench-password"  # noqa: S105 - the throwaway people of a benchmark run
OPENING_CREDITS = 1_000_000  # enough that random transfers never run an account dry
_TEAMS = tuple(f"Team {n}" for n in range(10))


@dataclass(frozen=True)
class SeededTenant:
    tenant: Tenant
    master: Person
    users: tuple[Person, ...]

    def account(self, person: Person) -> tuple[uuid.UUID, str]:
        """(ledger account id, account code) of a person's User Credits."""
        code = user_code(person.id)
        return account_id(self.tenant.id, code), code


@dataclass(frozen=True)
class Directory:
    tenants: tuple[SeededTenant, ...]

    @property
    def people(self) -> list[Person]:
        return [p for t in self.tenants for p in (t.master, *t.users)]

    def pick_pair(self, rng: random.Random) -> tuple[SeededTenant, Person, Person]:
        """A tenant and two different users of it, at random."""
        tenant = rng.choice(self.tenants)
        source, target = rng.sample(tenant.users, 2)
        return tenant, source, target


def plan(batch: str, users: int, tenants: int = 1) -> Directory:
    """`users` people with User Credits, spread evenly over `tenants` individual-mode tenants, each with
    a master who may move anyone's credits."""
    seeded = []
    for t in range(tenants):
        tenant = Tenant(uuid.uuid4(), f"Bench {batch} {t}", None, None, "individual", "Australia/Sydney")

        def person(label: str, role: str, team: str | None, tenant: Tenant = tenant) -> Person:
            return Person(uuid.uuid4(), tenant.id, f"bench-{batch}-{label}@bench.test", f"Bench {label}",
                          role, team, True, True, False)  # type: ignore[arg-type]

        count = users // tenants + (1 if t < users % tenants else 0)
        members = tuple(person(f"t{t}-u{n}", "user", _TEAMS[n % len(_TEAMS)]) for n in range(count))
        seeded.append(SeededTenant(tenant, person(f"t{t}-master", "master", None), members))
    return Directory(tuple(seeded))


async def insert_directory(system: System, directory: Directory) -> None:
    """The tenants and people into the gateway's database, announced in the same transaction."""
    password_hash = await asyncio.to_thread(hash_password, PASSWORD)
    conn = await connect(system.database_url("gateway"))
    try:
        async with conn.transaction():
            await conn.executemany(
                """INSERT INTO tenants (id, name, legal_name, abn, credit_mode, timezone, low_balance_threshold)
                   VALUES ($1, $2, $3, $4, $5, $6, $7)""",
                [(t.id, t.name, t.legal_name, t.abn, t.credit_mode, t.timezone, t.low_balance_threshold)
                 for t in (s.tenant for s in directory.tenants)],
            )
            await conn.copy_records_to_table(
                "users",
                columns=["id", "tenant_id", "email", "name", "password_hash", "role", "team", "active", "send_sms",
                         "manage_credits"],
                records=[(p.id, p.tenant_id, p.email, p.name, password_hash, p.role, p.team, p.active, p.send_sms,
                          p.manage_credits) for p in directory.people],
            )
            await announce(conn, [s.tenant for s in directory.tenants], directory.people)
    finally:
        await conn.close()


_REPLICA_COUNTS = {"ledger": "SELECT count(*) FROM users", "reporting": "SELECT count(*) FROM directory_users"}


async def replica_counts(system: System) -> dict[str, int]:
    """People each running directory replica holds (billing keeps no count worth asking)."""
    counts = {}
    for service, sql in _REPLICA_COUNTS.items():
        if service in system.processes:
            conn = await asyncpg.connect(system.database_url(service))
            try:
                counts[service] = int(await conn.fetchval(sql))
            finally:
                await conn.close()
    return counts


async def wait_for_replicas(system: System, expected: dict[str, int], limit_seconds: float = 300) -> float:
    """Wait until every replica holds the expected number of people and every queue of the running
    services is empty (billing's included); answers the seconds it took."""
    started = time.monotonic()
    while True:
        counts = await replica_counts(system)
        if all(counts[s] >= n for s, n in expected.items()) and \
                await infra.ready_messages(system.exchange, frozenset(system.processes)) == 0:
            return time.monotonic() - started
        if time.monotonic() - started > limit_seconds:
            raise TimeoutError(f"the directory did not reach the services within {limit_seconds} s: {counts}")
        await asyncio.sleep(0.5)


# As ledger migration 0008 turned the balances from before lots into lots: each funded account's credits
# are one opening lot, paid and never expiring (a transfer spends credits lot by lot).
_OPENING_LOTS = (
    """INSERT INTO lots (id, tenant_id, origin, paid, reference, granted_at, expires_at, quantity)
       SELECT md5('opening:' || a.id::text)::uuid, a.tenant_id, 'opening', true, NULL, a.created_at, NULL, a.balance
       FROM accounts a WHERE a.id = ANY($1::uuid[])""",
    """INSERT INTO lot_holdings (account_id, lot_id, remaining, reserved)
       SELECT a.id, md5('opening:' || a.id::text)::uuid, a.balance, 0 FROM accounts a WHERE a.id = ANY($1::uuid[])""",
    """INSERT INTO lot_movements (transaction_id, account_id, lot_id, amount, reserved)
       SELECT p.transaction_id, p.account_id, md5('opening:' || p.account_id::text)::uuid, p.amount, 0
       FROM postings p WHERE p.account_id = ANY($1::uuid[])""",
)


def _funded(seeded: SeededTenant, credits: int, system_credits: int) -> list[tuple[uuid.UUID, str, str, int]]:
    """(account id, code, kind, opening credits) of each account of the tenant that starts with credits."""
    funded = [(*seeded.account(person), "user", credits) for person in seeded.users]
    if system_credits:
        funded.append((account_id(seeded.tenant.id, SYSTEM), SYSTEM, "system", system_credits))
    return funded


async def open_balances(system: System, directory: Directory, credits: int = OPENING_CREDITS,
                        system_credits: int = 0) -> None:
    """Every user's account opened with `credits` and each tenant's System Credits with `system_credits`,
    bought from `world` (one transaction per account), each account's credits in a lot of its own."""
    accounts, transactions, postings, funded_ids = [], [], [], []
    for seeded in directory.tenants:
        tenant_id = seeded.tenant.id
        world = account_id(tenant_id, WORLD)
        world_balance = 0
        for account, code, kind, amount in _funded(seeded, credits, system_credits):
            accounts.append((account, tenant_id, code, kind, amount))
            funded_ids.append(account)
            transaction = uuid.uuid4()
            transactions.append((transaction, tenant_id, "purchase", f"bench-opening:{code}", "bench",
                                 "Opening balance (benchmark seed)"))
            world_balance -= amount
            postings += [(transaction, world, -amount, world_balance), (transaction, account, amount, amount)]
        accounts.append((world, tenant_id, WORLD, "world", world_balance))
        if not system_credits:
            accounts.append((account_id(tenant_id, SYSTEM), tenant_id, SYSTEM, "system", 0))
    conn = await asyncpg.connect(system.database_url("ledger"))
    try:
        async with conn.transaction():
            await conn.copy_records_to_table(
                "accounts", columns=["id", "tenant_id", "code", "kind", "balance"], records=accounts)
            await conn.copy_records_to_table(
                "transactions", columns=["id", "tenant_id", "kind", "idempotency_key", "request_hash", "note"],
                records=transactions)
            await conn.copy_records_to_table(
                "postings", columns=["transaction_id", "account_id", "amount", "balance_after"], records=postings)
            for statement in _OPENING_LOTS:
                await conn.execute(statement, funded_ids)
        await conn.execute("ANALYZE accounts; ANALYZE transactions; ANALYZE postings; ANALYZE lot_holdings")
    finally:
        await conn.close()


async def seed(system: System, users: int, tenants: int = 1, balances: bool = True,
               system_credits: int = 0) -> Directory:
    """Plan, insert and announce the directory, wait for the services to have it, open balances (each
    tenant's System Credits with `system_credits`)."""
    started = time.monotonic()
    directory = plan(uuid.uuid4().hex[:6], users, tenants)
    expected = {service: n + len(directory.people) for service, n in (await replica_counts(system)).items()}
    await insert_directory(system, directory)
    waited = await wait_for_replicas(system, expected)
    if balances and "ledger" in system.processes:
        await open_balances(system, directory, system_credits=system_credits)
    print(f"  seeded {len(directory.people):,} people in {len(directory.tenants)} tenant(s) in "
          f"{time.monotonic() - started:.1f} s (directory events applied in {waited:.1f} s)", flush=True)
    return directory
