"""What must hold once the faults have stopped and everything has caught up, checked against the
databases themselves and the broker, and against the driver's record of what it was told."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import asyncpg

from tests.chaos.driver import Operation
from tests.chaos.system import EXCHANGE, SERVICES
from tests.security.leaks import SHAPES, leaks

USER_FACING = ("system", "user")


class Queues(Protocol):
    def queues(self) -> dict[str, dict[str, int]]:
        """Every queue with its ready and unacknowledged message counts."""
        ...


class SystemUnderTest(Protocol):
    """What the checks use of a running system: tests/chaos/system.py's ChaosSystem, or the cluster's
    (tests/chaos/cluster/system.py), whose databases are the Postgres primary's."""

    @property
    def rabbit(self) -> Queues: ...

    @property
    def env(self) -> dict[str, str]: ...

    @property
    def gateway_url(self) -> str: ...

    def url(self, service: str) -> str: ...

    def database_url(self, service: str) -> str: ...

    async def connect(self, service: str) -> asyncpg.Connection: ...

    def command(self, module: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]: ...


@dataclass(frozen=True)
class Verdict:
    name: str
    held: bool
    detail: str = ""


def sample(items: Iterable[object], limit: int = 5) -> str:
    listed = list(items)
    more = f" (+{len(listed) - limit} more)" if len(listed) > limit else ""
    return ", ".join(str(i) for i in listed[:limit]) + more


async def caught_up(system: SystemUnderTest) -> dict[str, int]:
    """What is still on its way: unpublished outbox rows, queued or unacknowledged messages, open holds,
    paid purchases not yet credited, undelivered payment webhooks, ledger transactions not in the log,
    SMS not settled and recipients whose delivery is not final. All zero means caught up."""
    waiting: dict[str, int] = {}
    for service in SERVICES:
        conn = await system.connect(service)
        try:
            if service != "webhooks":  # it publishes nothing
                waiting[f"{service} outbox"] = await conn.fetchval(
                    "SELECT count(*) FROM outbox WHERE published_at IS NULL")
            if service == "ledger":
                waiting["open holds"] = await conn.fetchval("SELECT count(*) FROM holds WHERE status = 'open'")
                ledger_transactions = await conn.fetchval("SELECT count(*) FROM transactions")
            if service == "billing":
                waiting["purchases paid, not credited"] = await conn.fetchval(
                    "SELECT count(*) FROM purchases WHERE status = 'paid'")
                waiting["payment webhooks undelivered"] = await conn.fetchval(
                    "SELECT count(*) FROM test_provider_webhooks WHERE delivered_at IS NULL")
            if service == "reporting":
                logged = await conn.fetchval("SELECT count(*) FROM applied_transactions")
            if service == "webhooks":
                waiting["webhook deliveries pending"] = await conn.fetchval(
                    "SELECT count(*) FROM deliveries WHERE status = 'pending'")
            if service == "messaging":
                waiting["messages unsettled"] = await conn.fetchval(
                    "SELECT count(*) FROM messages WHERE settled_at IS NULL")
                # Unanswered by the carrier, or accepted and waiting for a receipt (or its validity to end).
                waiting["recipients without a final delivery"] = await conn.fetchval(
                    """SELECT count(*) FROM parts WHERE state IN ('queued', 'submitting')
                                                     OR (state = 'accepted' AND delivery IS NULL)""")
        finally:
            await conn.close()
    waiting["ledger transactions not in the log"] = ledger_transactions - logged
    queues = await asyncio.to_thread(system.rabbit.queues)
    waiting["messages in queues"] = sum(q["ready"] + q["unacked"] for name, q in queues.items()
                                        if name.startswith(f"{EXCHANGE}.") and not name.endswith(".dlq"))
    return waiting


async def wait_caught_up(system: SystemUnderTest, timeout: float) -> dict[str, int]:
    """Wait until nothing is on its way, twice in a row; answers what still was at the deadline."""
    deadline, calm = time.monotonic() + timeout, 0
    while True:
        try:
            waiting = await caught_up(system)
        except (OSError, RuntimeError) as exc:  # a server still coming back
            waiting = {f"unreachable: {type(exc).__name__}": 1}
        calm = calm + 1 if not any(waiting.values()) else 0
        if calm >= 2 or time.monotonic() > deadline:
            return waiting
        await asyncio.sleep(1)


@dataclass(frozen=True)
class Expected:
    """What the accepted operations add up to."""

    purchased: dict[str, int]  # tenant -> credits bought
    spent: dict[str, int]  # tenant -> credits captured, less what undelivered SMS gave back
    balances: dict[str, int]  # account -> balance


def expected_from(operations: list[Operation]) -> Expected:
    """An SMS's figures are messaging's, recorded on it first (`sms.record_outcomes`)."""
    purchased: Counter[str] = Counter()
    spent: Counter[str] = Counter()
    balances: Counter[str] = Counter()
    for op in operations:
        if op.state != "accepted":
            continue
        if op.kind == "purchase":
            purchased[op.tenant_id] += op.quantity
            balances[op.account_id] += op.quantity
        elif op.kind == "transfer":
            balances[op.account_id] -= op.quantity
            balances[op.target_id or ""] += op.quantity
        else:  # a hold, or an SMS: what it captured, less what came back for recipients it never reached
            spent[op.tenant_id] += op.captured - op.refunded
            balances[op.account_id] -= op.captured - op.refunded
    return Expected(dict(purchased), dict(spent), dict(balances))


async def ledger_verdicts(system: SystemUnderTest, operations: list[Operation], tenants: list[str]) -> list[Verdict]:
    expected = expected_from(operations)
    conn = await system.connect("ledger")
    try:
        accounts = await conn.fetch("SELECT id::text, tenant_id::text, kind, balance, held FROM accounts")
        transactions = await conn.fetch(
            "SELECT id::text, tenant_id::text, kind, idempotency_key FROM transactions")
        postings = await conn.fetch("SELECT transaction_id::text, account_id::text, amount FROM postings")
        holds = await conn.fetch(
            "SELECT id::text, tenant_id::text, idempotency_key, captured, status FROM holds")
    finally:
        await conn.close()
    derived = await _derived_keys(system)
    verdicts = []
    for tenant in tenants:
        total = sum(a["balance"] for a in accounts if a["tenant_id"] == tenant and a["kind"] in USER_FACING)
        bought, spent = expected.purchased.get(tenant, 0), expected.spent.get(tenant, 0)
        world = sum(a["balance"] for a in accounts if a["tenant_id"] == tenant and a["kind"] == "world")
        sink = sum(a["balance"] for a in accounts if a["tenant_id"] == tenant and a["kind"] == "spent")
        verdicts.append(Verdict(
            f"tenant {tenant[:8]}: total credits = purchased - spent",
            total == bought - spent and world == -bought and sink == spent,
            f"{total} = {bought} - {spent} (world {world}, spent account {sink})",
        ))
    wrong = [(a["id"][:8], a["balance"], expected.balances.get(a["id"], 0)) for a in accounts
             if a["kind"] in USER_FACING and a["balance"] != expected.balances.get(a["id"], 0)]
    verdicts.append(Verdict("every account's balance is what the accepted operations make it", not wrong,
                            f"(account, ledger, expected): {sample(wrong)}" if wrong else f"{len(accounts)} accounts"))
    verdicts += _exactly_once(operations, transactions, postings, holds, derived)
    return verdicts


async def _derived_keys(system: SystemUnderTest) -> dict[str, str]:
    """The key each client key was handed down to the ledger under (the gateway scopes a client's key
    to its caller and endpoint), from the answers the gateway recorded. A key whose request was
    refused before anything was decided has no entry, and is looked for as the client sent it."""
    from gateway.web.idempotency import Scope

    conn = await system.connect("gateway")
    try:
        rows = await conn.fetch("SELECT caller_id, endpoint, key FROM idempotent_requests")
    finally:
        await conn.close()
    return {r["key"]: Scope(r["caller_id"], r["endpoint"], r["key"]).derived_key() for r in rows}


def _exactly_once(
    operations: list[Operation], transactions: list, postings: list, holds: list, derived: dict[str, str]
) -> list[Verdict]:
    by_key = {(t["tenant_id"], t["idempotency_key"]): t for t in transactions}
    moves: dict[str, dict[str, int]] = defaultdict(dict)
    for p in postings:
        moves[p["transaction_id"]][p["account_id"]] = p["amount"]
    holds_by_key = {(h["tenant_id"], h["idempotency_key"]): h for h in holds}
    problems: dict[str, list[str]] = defaultdict(list)
    for op in operations:
        if op.kind == "transfer":
            found = by_key.get((op.tenant_id, derived.get(op.key, op.key)))
            if op.state == "accepted" and (
                found is None or found["id"] != op.ledger_id
                or moves[found["id"]] != {op.account_id: -op.quantity, op.target_id: op.quantity}
            ):
                problems["transfer"].append(op.key[:8])
            if op.state == "rejected" and found is not None:
                problems["rejected"].append(f"transfer {op.key[:8]}")
        elif op.kind == "purchase":
            found = by_key.get((op.tenant_id, f"purchase:{op.ledger_id}"))
            if op.state == "accepted" and (found is None or moves[found["id"]].get(op.account_id) != op.quantity):
                problems["purchase"].append(str(op.ledger_id)[:8])
            if op.state == "rejected" and found is not None:
                problems["rejected"].append(f"purchase {op.ledger_id}")
        elif op.kind == "hold":  # an SMS's hold and refunds have checks of their own (sms.py)
            hold = holds_by_key.get((op.tenant_id, derived.get(op.key, op.key)))
            if op.state == "accepted" and (hold is None or hold["id"] != op.ledger_id
                                           or hold["captured"] != op.captured
                                           or hold["status"] != op.settled_as):
                problems["hold"].append(f"{op.key[:8]}: {op.settled_as}/{op.captured} vs {hold and dict(hold)}")
            if op.state == "rejected" and hold is not None:
                problems["rejected"].append(f"hold {op.key[:8]}")
    accepted = Counter(op.kind for op in operations if op.state == "accepted")
    in_ledger = Counter(t["kind"] for t in transactions)
    # The gateway keys an SMS's hold by its message. One not of an accepted SMS is an attempt answered
    # "cancelled, nothing sent": it must have been released, having spent nothing.
    sms_holds = [h for h in holds if h["idempotency_key"].startswith("message:")]
    sent = {f"message:{op.message_id}" for op in operations if op.kind == "sms" and op.state == "accepted"}
    unasked = {
        "transfer": in_ledger["transfer"] - accepted["transfer"],
        "purchase": in_ledger["purchase"] - accepted["purchase"],
        "hold": len(holds) - len(sms_holds) - accepted["hold"],
        "sms hold": sum(1 for h in sms_holds
                        if h["idempotency_key"] not in sent and (h["captured"] or h["status"] == "open")),
    }
    unresolved = [op.key[:8] for op in operations if op.state == "unresolved"]
    return [
        Verdict("every accepted transfer, purchase and hold took effect exactly once",
                not (problems["transfer"] or problems["purchase"] or problems["hold"]),
                "; ".join(f"{k}: {sample(v)}" for k, v in problems.items() if k != "rejected" and v)),
        Verdict("every rejected request took no effect", not problems["rejected"], sample(problems["rejected"])),
        Verdict("the ledger holds nothing no client was told of", not any(unasked.values()),
                ", ".join(f"{k} {v:+d}" for k, v in unasked.items())),
        Verdict("every operation got a definite answer", not unresolved, sample(unresolved)),
    ]


async def reporting_verdicts(system: SystemUnderTest) -> list[Verdict]:
    ledger = await system.connect("ledger")
    try:
        journal = {(r["id"], r["seq"]) for r in await ledger.fetch("SELECT id::text, seq FROM transactions")}
        rows = {tuple(r) for r in await ledger.fetch(
            """SELECT p.transaction_id::text, p.account_id::text, p.amount, p.balance_after
               FROM postings p JOIN accounts a ON a.id = p.account_id WHERE a.kind IN ('system', 'user')""")}
    finally:
        await ledger.close()
    reporting = await system.connect("reporting")
    try:
        applied = {(r["transaction_id"], r["seq"]) for r in await reporting.fetch(
            "SELECT transaction_id::text, seq FROM applied_transactions")}
        logged = [tuple(r) for r in await reporting.fetch(
            """SELECT transaction_id::text, account_id::text,
                      CASE direction WHEN 'in' THEN quantity ELSE -quantity END, balance_after
               FROM log_entries WHERE NOT reservation""")]
    finally:
        await reporting.close()
    reconcile = await asyncio.to_thread(system.command, "services.reporting", "reconcile")
    return [
        Verdict("reporting applied every ledger transaction, once", applied == journal,
                f"{len(journal)} in the ledger, {len(applied)} applied; missing {sample(journal - applied)}; "
                f"extra {sample(applied - journal)}"),
        Verdict("reporting's log rows equal the ledger's postings", set(logged) == rows and len(logged) == len(rows),
                f"{len(rows)} postings, {len(logged)} rows; missing {sample(rows - set(logged))}; "
                f"extra {sample(set(logged) - rows)}"),
        Verdict("`python -m services.reporting reconcile` finds no difference", reconcile.returncode == 0,
                reconcile.stdout.strip().splitlines()[-1] if reconcile.stdout.strip() else reconcile.stderr[-300:]),
    ]


async def broker_verdicts(system: SystemUnderTest) -> list[Verdict]:
    queues = await asyncio.to_thread(system.rabbit.queues)
    ours = {name: q for name, q in queues.items() if name.startswith(f"{EXCHANGE}.")}
    busy = {n: q for n, q in ours.items() if not n.endswith(".dlq") and (q["ready"] or q["unacked"])}
    dead = {n: q for n, q in ours.items() if n.endswith(".dlq") and (q["ready"] or q["unacked"])}
    return [
        Verdict("no message sits in a queue or unacknowledged", not busy,
                sample(busy.items()) or f"{len(ours)} queues"),
        Verdict("the dead-letter queues are empty", not dead, sample(dead.items())),
    ]


async def command_verdicts(system: SystemUnderTest) -> list[Verdict]:
    checked = await asyncio.to_thread(system.command, "services.ledger", "check")
    return [Verdict("`python -m services.ledger check` exits 0", checked.returncode == 0,
                    checked.stdout.strip().splitlines()[-1] if checked.stdout.strip() else checked.stderr[-300:])]


def secrets_verdict(logs: list[Path], secrets: dict[str, str]) -> Verdict:
    """No password, token, card number or key in any log line of the run."""
    found = leaks(logs, secrets)
    return Verdict("no secret, token, password or card number in any log",
                   not found, sample(found) or f"{len(secrets)} secrets and {len(SHAPES)} shapes, {len(logs)} logs")
