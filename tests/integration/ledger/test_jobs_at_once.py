"""The ledger's periodic jobs run by two replicas at once on one database, as they are once the ledger runs
on more than one machine: two hold sweepers expire each due hold once, a capture or void meeting a sweeper
on a hold is settled by exactly one of them, and two invariant checks at once report no false breach and
write nothing. (Two lot-expiry sweepers at once: test_lots.py.)"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import asyncpg
import pytest
from prometheus_client import REGISTRY

from common.accounts import SPENT, account_id, user_code
from common.contracts import events
from common.db import connect, create_pool
from services.ledger.app import create_app
from services.ledger.holds import usecases as holds
from services.ledger.invariants import store as invariants_store
from services.ledger.invariants import usecases as invariants
from services.ledger.invariants.jobs import check_command, check_invariants
from services.ledger.settings import LedgerSettings
from tests.conftest import StartService
from tests.integration.ledger.conftest import LedgerHarness
from tests.support import eventually

Replicas = tuple[asyncpg.Pool, asyncpg.Pool]
RESOLVED = {"capture": "captured", "void": "voided"}
SETTLED_BY = {"captured": "capture", "voided": "void", "expired": "expiry"}  # a hold's status: the transaction


@pytest.fixture
async def ledger(start_service: StartService) -> LedgerHarness:
    """The ledger with its own hold sweeper an hour apart: every sweep here is the test's, on a replica's
    pool, so what each sweep answers is known."""
    service = await start_service("ledger", create_app, LedgerSettings, hold_sweep_seconds=3600)
    return LedgerHarness(service.client, service.broker, service.dsn)


@pytest.fixture
async def replicas(ledger: LedgerHarness) -> AsyncIterator[Replicas]:
    """Two more ledger processes' worth of database access: a pool each, on the ledger's database."""
    first, second = await create_pool(ledger.dsn, 4), await create_pool(ledger.dsn, 4)
    yield first, second
    await asyncio.gather(first.close(), second.close())


async def place_holds(ledger: LedgerHarness, tenant: uuid.UUID, code: str, quantities: list[int]) -> list[uuid.UUID]:
    """Holds placed on the account for an hour."""
    placed = await asyncio.gather(*(ledger.place_hold(tenant, code, q, expires_in=3600) for q in quantities))
    assert all(status == 201 for status, _ in placed), placed
    return [uuid.UUID(hold["id"]) for _, hold in placed]


async def due_holds(ledger: LedgerHarness, tenant: uuid.UUID, code: str, quantities: list[int]) -> list[uuid.UUID]:
    """Holds placed on the account for an hour, then made due a second ago."""
    ids = await place_holds(ledger, tenant, code, quantities)
    await ledger.pool.execute("UPDATE holds SET expires_at = now() - interval '1 second' WHERE id = ANY($1::uuid[])",
                              ids)
    return ids


async def hold_facts(ledger: LedgerHarness, ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[str, int, list[str]]]:
    """Each hold's status, quantity, and the kinds of the transactions that settled it."""
    rows = await ledger.pool.fetch(
        """SELECT h.id, h.status, h.quantity,
                  array_remove(array_agg(t.kind ORDER BY t.kind), NULL) AS settled_by
           FROM holds h LEFT JOIN transactions t ON t.hold_id = h.id AND t.kind <> 'hold'
           WHERE h.id = ANY($1::uuid[]) GROUP BY h.id""", ids)
    return {r["id"]: (r["status"], r["quantity"], list(r["settled_by"])) for r in rows}


async def announced_expiries(ledger: LedgerHarness) -> Counter[uuid.UUID]:
    return Counter(uuid.UUID(e["data"]["hold_id"]) for e in await ledger.outbox(events.HOLD_EXPIRED))


async def balances(ledger: LedgerHarness, ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[int, int]]:
    """(balance, held) of each account (an account never opened: nothing)."""
    rows = await ledger.pool.fetch("SELECT id, balance, held FROM accounts WHERE id = ANY($1::uuid[])", ids)
    return {r["id"]: (r["balance"], r["held"]) for r in rows}


async def breached(pool: asyncpg.Pool) -> list[str]:
    async with pool.acquire() as conn:
        return [r.name for r in await invariants.check(conn) if not r.held]


async def sweep_until_done(pool: asyncpg.Pool) -> int:
    """A replica's hold sweeper, round after round of a batch smaller than the backlog, until a round finds
    nothing left to expire; answers how many it expired."""
    expired = 0
    while swept := await holds.expire_due(pool, batch=8):
        expired += swept
    return expired


async def test_two_sweepers_at_once_expire_each_due_hold_once_and_release_its_credits_once(
    ledger: LedgerHarness, replicas: Replicas,
) -> None:
    accounts: list[tuple[uuid.UUID, str]] = []
    for _ in range(2):
        tenant = await ledger.add_tenant()
        users = [user_code((await ledger.add_user(tenant)).user_id) for _ in range(2)]
        for code in ("system", *users):
            await ledger.fund(tenant, code, 1000)
            accounts.append((tenant, code))
    ids = [account_id(tenant, code) for tenant, code in accounts]
    # A hold not due on every account: `held` must come back to it, and it must stay open.
    not_due = [h for tenant, code in accounts for h in await place_holds(ledger, tenant, code, [7])]
    before = await balances(ledger, ids)
    due = [h for (tenant, code), holding in zip(accounts, [10, 8, 6, 6, 5, 5], strict=True)
           for h in await due_holds(ledger, tenant, code, [1 + k % 5 for k in range(holding)])]
    assert len(due) == 40 and (await balances(ledger, ids)) != before

    counts = await asyncio.gather(sweep_until_done(replicas[0]), sweep_until_done(replicas[1]))
    assert sum(counts) == 40
    assert await holds.expire_due(replicas[0]) == 0

    facts = await hold_facts(ledger, due + not_due)
    assert {h: (status, settled_by) for h, (status, _, settled_by) in facts.items()} == {
        **{h: ("expired", ["expiry"]) for h in due}, **{h: ("open", []) for h in not_due}}
    assert await balances(ledger, ids) == before
    assert await announced_expiries(ledger) == Counter(due)
    assert await breached(ledger.pool) == []


@contextlib.asynccontextmanager
async def account_locked(dsn: str, account: uuid.UUID) -> AsyncIterator[None]:
    """The account's row locked by a transaction of its own until the block ends: whatever settles a hold
    on it queues up behind, so that two contenders are lined up in a known order, then let go together."""
    conn = await connect(dsn)
    try:
        async with conn.transaction():
            await conn.execute("SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE", account)
            yield
    finally:
        await conn.close()


async def waiting_on_locks(ledger: LedgerHarness, expected: int) -> bool:
    waiting = await ledger.pool.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")
    return bool(waiting == expected)


@pytest.mark.parametrize("first", ["request", "sweeper"])
@pytest.mark.parametrize("request_kind", ["capture", "void"])
async def test_a_capture_or_void_meeting_the_sweeper_on_a_due_hold_is_settled_by_exactly_one_of_them(
    ledger: LedgerHarness, replicas: Replicas, request_kind: str, first: str,
) -> None:
    tenant = await ledger.add_tenant()
    await ledger.fund(tenant, "system", 100)
    [hold] = await due_holds(ledger, tenant, "system", [30])
    system = account_id(tenant, "system")

    def contender(who: str) -> Awaitable[Any]:
        if who == "sweeper":
            return holds.expire_due(replicas[1])
        return ledger.post(f"/holds/{hold}/{request_kind}", None, ledger.token(None, "service"))

    started: dict[str, asyncio.Future[Any]] = {}
    async with account_locked(ledger.dsn, system):
        for n, who in enumerate([first, *({"request", "sweeper"} - {first})], 1):
            started[who] = asyncio.ensure_future(contender(who))
            await eventually(functools.partial(waiting_on_locks, ledger, n), timeout=5)  # queued up
    (status, answer), expired = await started["request"], await started["sweeper"]

    settled_as = "expired" if first == "sweeper" else RESOLVED[request_kind]
    assert expired == (1 if first == "sweeper" else 0)
    if request_kind == "capture" and first == "sweeper":
        assert status == 409, answer  # the hold had lapsed: nothing was spent
    else:
        assert (status, answer["status"]) == (200, settled_as), answer
    assert (await hold_facts(ledger, [hold]))[hold] == (settled_as, 30, [SETTLED_BY[settled_as]])
    spent, spent_account = (30 if settled_as == "captured" else 0), account_id(tenant, SPENT)
    after = await balances(ledger, [system, spent_account])
    assert (after[system], after.get(spent_account, (0, 0))) == ((100 - spent, 0), (spent, 0))
    assert await announced_expiries(ledger) == Counter([hold] if settled_as == "expired" else [])
    assert await breached(ledger.pool) == []


async def test_requests_racing_two_sweepers_over_due_holds_settle_each_hold_once(
    ledger: LedgerHarness, replicas: Replicas,
) -> None:
    tenant = await ledger.add_tenant()
    await ledger.fund(tenant, "system", 1000)
    service = ledger.token(None, "service")
    answers: dict[uuid.UUID, tuple[str, int, dict[str, Any]]] = {}
    swept = 0
    # Who wins each hold is left to chance here (mostly the requests); the test above lines both orders up.
    for _ in range(5):
        due = await due_holds(ledger, tenant, "system", [10, 11, 12, 13])
        kinds = dict(zip(due, ["capture", "void", "capture", "void"], strict=True))
        sweeps, requests = await asyncio.gather(
            asyncio.gather(holds.expire_due(replicas[0]), holds.expire_due(replicas[1])),
            asyncio.gather(*(ledger.post(f"/holds/{h}/{kind}", None, service) for h, kind in kinds.items())),
        )
        swept += sum(sweeps)
        answers |= {h: (kind, *answer) for (h, kind), answer in zip(kinds.items(), requests, strict=True)}

    facts = await hold_facts(ledger, list(answers))
    for h, (kind, status, answer) in answers.items():
        settled_as, quantity, settled_by = facts[h]
        assert settled_by == [SETTLED_BY[settled_as]], (h, facts[h])
        if kind == "capture" and settled_as == "expired":
            assert status == 409, answer
        else:
            assert (status, answer["status"]) == (200, settled_as), answer
            assert answer["captured"] == (quantity if settled_as == "captured" else 0)
    expired = [h for h, (settled_as, _, _) in facts.items() if settled_as == "expired"]
    spent = sum(quantity for settled_as, quantity, _ in facts.values() if settled_as == "captured")
    assert swept == len(expired)
    assert await announced_expiries(ledger) == Counter(expired)
    system, spent_account = account_id(tenant, "system"), account_id(tenant, SPENT)
    after = await balances(ledger, [system, spent_account])
    assert (after[system], after.get(spent_account, (0, 0))) == ((1000 - spent, 0), (spent, 0))
    assert await breached(ledger.pool) == []


async def fingerprint(pool: asyncpg.Pool) -> dict[str, str]:
    """Every table's rows, hashed; the outbox's publishing mark left out (the relay moves it on its own)."""
    tables = await pool.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'")
    return {t["table_name"]: await pool.fetchval(
        f"""SELECT md5(coalesce(string_agg(r::text, '|' ORDER BY r::text), ''))
            FROM (SELECT to_jsonb(t) - 'published_at' AS r FROM "{t['table_name']}" t) AS s""")  # noqa: S608
            for t in tables}


def violations_metric() -> dict[str, float | None]:
    return {name: REGISTRY.get_sample_value("ledger_invariant_violations", {"check": name})
            for name in invariants_store.CHECKS}


async def test_two_invariant_checks_at_once_report_no_false_breach_and_write_nothing(
    ledger: LedgerHarness, replicas: Replicas, capsys: pytest.CaptureFixture[str],
) -> None:
    tenant = await ledger.add_tenant()
    await ledger.fund(tenant, "system", 500)
    await due_holds(ledger, tenant, "system", [5] * 20)
    # While two sweepers expire the holds, two checks at once, again and again, each on its own snapshot.
    sweeps = asyncio.gather(holds.expire_due(replicas[0]), holds.expire_due(replicas[1]))
    rounds = 0
    while not sweeps.done() or rounds < 3:
        assert await asyncio.gather(breached(replicas[0]), breached(replicas[1])) == [[], []]
        rounds += 1
    assert sum(await sweeps) == 20

    before = await fingerprint(ledger.pool)
    outcomes = await asyncio.gather(check_invariants(ledger.client.app), check_command(ledger.dsn)(),
                                    check_command(ledger.dsn)(), breached(replicas[0]), breached(replicas[1]))
    assert outcomes == [None, 0, 0, [], []]
    assert capsys.readouterr().out.count(f"{len(invariants_store.CHECKS)} invariants checked, 0 breached") == 2
    assert violations_metric() == dict.fromkeys(invariants_store.CHECKS, 0)
    assert await fingerprint(ledger.pool) == before

    # Not a check that never fails: a real breach is reported by both at once, still without a write.
    await ledger.pool.execute("UPDATE accounts SET held = held + 1 WHERE id = $1", account_id(tenant, "system"))
    before = await fingerprint(ledger.pool)
    reported = await asyncio.gather(breached(replicas[0]), breached(replicas[1]), check_command(ledger.dsn)())
    assert reported == [["held_equals_open_holds", "lots_hold_the_balance"]] * 2 + [1]
    assert violations_metric()["held_equals_open_holds"] == 1
    assert await fingerprint(ledger.pool) == before
