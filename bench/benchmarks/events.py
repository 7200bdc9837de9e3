"""`ledger.transaction.posted` from the ledger's outbox to reporting's log: how many a second the relay
and the consumer sustain (a backlog put in the outbox at once, drained), and how far behind the log is
while the ledger takes transfers at steady rates (per event: reporting's applied_at minus the ledger's
created_at, both stamped by the same Postgres clock).

Billing's copy of the events is purged (see bench/infra.QueueSink): this measures the reporting path.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import aio_pika
import asyncpg

from bench import infra, load, seed, stats, system
from bench.machine import Probe, Usage
from bench.modes import Mode
from bench.options import Options
from bench.results import Result, Row
from bench.seed import Directory
from bench.workloads import LedgerTransfers
from common.contracts import events
from common.contracts.events import Event, TransactionPosted

NAME = "events"
# Backlog events carry made-up sequence numbers far above the ledger's, so they never collide with the
# real transfers of the lag measurement (reporting keys applied transactions by seq).
FAKE_SEQ = 10**12
# The backlog put straight into reporting's queue: sequence numbers of its own.
QUEUED_SEQ = 2 * 10**12
_POLL_SECONDS = 0.1
# Events are routed by their type without its namespace (common.contracts.events.routing_key).
POSTED_KEY = events.routing_key(events.TRANSACTION_POSTED)


async def run(mode: Mode, options: Options, result: Result) -> None:
    """Fills `result` as it goes: what was measured before a failure is kept."""
    async with system.running(NAME, ("ledger", "reporting", "gateway")) as running:
        try:
            directory = await seed.seed(running, mode.users, tenants=options.tenants)
            await _drain(result, running, directory, mode.backlog_events)
            await _drain_queue(result, running, directory, mode.backlog_events)
            for rate in sorted({200, mode.background_rate}):
                await _lag(result, running, directory, rate, mode.lag_seconds)
        finally:
            result.services = running.usage()


def _backlog(directory: Directory, count: int, first_seq: int = FAKE_SEQ) -> list[tuple[uuid.UUID, str, str]]:
    """(event id, routing key, envelope JSON) of `count` transfers between random seeded users."""
    rng = random.Random()
    rows = []
    for n in range(count):
        seeded, source, target = directory.pick_pair(rng)
        (source_id, source_code), (target_id, target_code) = seeded.account(source), seeded.account(target)
        quantity = rng.randint(1, 5)
        posted = TransactionPosted(
            transaction_id=uuid.uuid4(), seq=first_seq + n, tenant_id=seeded.tenant.id, kind="transfer",
            occurred_at=datetime.now(UTC), actor_user_id=seeded.master.id, terms_version="bench",
            postings=[events.Posting(account_id=source_id, account_code=source_code, amount=-quantity,
                                     balance_after=seed.OPENING_CREDITS - quantity),
                      events.Posting(account_id=target_id, account_code=target_code, amount=quantity,
                                     balance_after=seed.OPENING_CREDITS + quantity)],
        )
        event = Event.new(type=events.TRANSACTION_POSTED, source="ledger", subject=str(seeded.tenant.id), data=posted)
        rows.append((event.id, event.routing_key, event.model_dump_json(exclude_none=True)))
    return rows


async def _count(dsn: str, sql: str, *args: object) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval(sql, *args))
    finally:
        await conn.close()


async def _drain(result: Result, running: system.System, directory: Directory, count: int) -> None:
    rows = _backlog(directory, count)
    ledger, reporting = running.database_url("ledger"), running.database_url("reporting")
    probe = Probe(running.pids())
    conn = await asyncpg.connect(ledger)
    try:
        probe.start()
        await conn.execute("""INSERT INTO outbox (event_id, routing_key, envelope)
                              SELECT * FROM unnest($1::uuid[], $2::text[], $3::jsonb[])""",
                           *(list(column) for column in zip(*rows, strict=True)))
    finally:
        await conn.close()
    started = time.perf_counter()
    published_at, applied = None, [(0.0, 0)]  # (seconds, events applied by reporting)
    deadline = started + max(120, count / 50)
    while applied[-1][1] < count and time.perf_counter() < deadline:
        await _sleep()
        now = time.perf_counter() - started
        if published_at is None and not await _count(ledger, "SELECT count(*) FROM outbox WHERE published_at IS NULL"):
            published_at = now
        applied.append((now, await _applied_since(reporting, FAKE_SEQ)))
    usage = probe.stop()
    done, total = applied[-1]
    sustained = _sustained(applied, count)
    result.add(Row(
        case=f"backlog of {count:,} events: outbox -> reporting", throughput=round(sustained, 1), unit="events/s",
        requests=count, errors=count - total, load1=usage.load1,
        note=(f"all applied {done:.1f} s after the insert ({total / done if done else 0:,.0f}/s overall); relay "
              f"published all in {published_at or float('nan'):.1f} s; {_cpu(usage)}"),
        details={"usage": asdict(usage), "published_seconds": published_at, "applied_seconds": done,
                 "progress": applied[:: max(1, len(applied) // 50)]},
    ))


async def _drain_queue(result: Result, running: system.System, directory: Directory, count: int) -> None:
    """The consumer alone: a backlog published straight into reporting's queue while reporting is
    paused (SIGSTOP), then drained. The outbox drain above is bounded by the ledger's relay as well."""
    reporting = running.database_url("reporting")
    bodies = [envelope.encode() for _, _, envelope in _backlog(directory, count, QUEUED_SEQ)]
    pid = running.pids()["reporting"]
    os.kill(pid, signal.SIGSTOP)
    try:
        connection = await aio_pika.connect(infra.BROKER_URL)
        async with connection:
            exchange = await (await connection.channel(publisher_confirms=True)).get_exchange(running.exchange)
            for first in range(0, count, 1000):
                await asyncio.gather(*(exchange.publish(
                    aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                    routing_key=POSTED_KEY) for body in bodies[first:first + 1000]))
    finally:
        os.kill(pid, signal.SIGCONT)
    probe = Probe(running.pids())
    probe.start()
    started = time.perf_counter()
    applied = [(0.0, 0)]
    while applied[-1][1] < count and time.perf_counter() - started < max(120, count / 50):
        await _sleep()
        applied.append((time.perf_counter() - started, await _applied_since(reporting, QUEUED_SEQ)))
    usage = probe.stop()
    done, total = applied[-1]
    result.add(Row(
        case=f"backlog of {count:,} events: queue -> reporting", throughput=round(_sustained(applied, count), 1),
        unit="events/s", requests=count, errors=count - total, load1=usage.load1,
        note=f"all applied {done:.1f} s after reporting resumed ({total / done if done else 0:,.0f}/s overall); "
             f"{_cpu(usage)}",
        details={"usage": asdict(usage), "applied_seconds": done, "progress": applied[:: max(1, len(applied) // 50)]},
    ))


async def _applied_since(reporting: str, first_seq: int) -> int:
    return await _count(reporting, "SELECT count(*) FROM applied_transactions WHERE seq >= $1 AND seq < $2",
                        first_seq, first_seq + 10**12)


def _sustained(applied: list[tuple[float, int]], count: int) -> float:
    """Events/s over the middle 80 % of a drain: what the pipe sustains once started, before the tail."""
    done = applied[-1][0]
    t10 = next(t for t, n in applied if n >= 0.1 * count) if applied[-1][1] >= 0.9 * count else 0.0
    t90 = next((t for t, n in applied if n >= 0.9 * count), done)
    return 0.8 * count / (t90 - t10) if t90 > t10 else 0.0


def _cpu(usage: Usage) -> str:
    cpu = usage.services_cpu_pct
    return f"CPU ledger {cpu.get('ledger', 0):.0f}%, reporting {cpu.get('reporting', 0):.0f}%"


async def _sleep() -> None:
    await asyncio.sleep(_POLL_SECONDS)


async def _lag(result: Result, running: system.System, directory: Directory, rate: int, seconds: float) -> None:
    ledger, reporting = running.database_url("ledger"), running.database_url("reporting")
    first_seq = await _count(ledger, "SELECT coalesce(max(seq), 0) FROM transactions")
    transfers = LedgerTransfers(running.url("ledger"), running.secret, directory)
    leg = await load.open_loop(transfers, rate, seconds, Probe(running.pids()))
    stopped = time.perf_counter()
    posted = await _count(ledger, "SELECT count(*) FROM transactions WHERE seq > $1", first_seq)
    while time.perf_counter() - stopped < 120 and await _count(
        reporting, "SELECT count(*) FROM applied_transactions WHERE seq > $1 AND seq < $2", first_seq, FAKE_SEQ
    ) < posted:
        await _sleep()
    caught_up = time.perf_counter() - stopped
    lags = await _lags(ledger, reporting, first_seq)
    latency, usage = stats.latency_ms([lag.total for lag in lags]), leg.usage
    relay = stats.latency_ms([lag.relay for lag in lags if lag.relay is not None])
    consumer = stats.latency_ms([lag.consumer for lag in lags if lag.consumer is not None])
    assert usage is not None
    result.add(Row(
        case=f"lag at {rate} transfers/s", throughput=round(leg.throughput, 1), unit="events/s",
        p50_ms=latency["p50_ms"], p95_ms=latency["p95_ms"], p99_ms=latency["p99_ms"], max_ms=latency["max_ms"],
        requests=posted, errors=posted - len(lags), load1=usage.load1,
        note=(f"latency is ledger commit -> reporting applied (p50/p99 of it: ledger commit -> relay's batch "
              f"{relay['p50_ms']}/{relay['p99_ms']} ms, then -> reporting applied "
              f"{consumer['p50_ms']}/{consumer['p99_ms']} ms); caught up {caught_up:.1f} s after; {_cpu(usage)}"),
        details={"usage": asdict(usage), "transfer_errors": dict(leg.errors), "not_sent": leg.not_sent,
                 "relay_ms": relay, "consumer_ms": consumer},
    ))


@dataclass(frozen=True)
class Lag:
    """Seconds from a transaction's creation in the ledger to its arrival in reporting, and the two
    parts of it: until the ledger's relay took it (the relay stamps published_at with the start of the
    transaction that publishes its batch), and from then to reporting's transaction (None where the
    outbox row was not published or already purged)."""

    total: float
    relay: float | None
    consumer: float | None


async def _lags(ledger: str, reporting: str, first_seq: int) -> list[Lag]:
    """Each transaction's lag, all stamped by the same Postgres clock."""
    conn = await asyncpg.connect(ledger)
    try:
        created = dict(await conn.fetch("SELECT seq, created_at FROM transactions WHERE seq > $1", first_seq))
        published = dict(await conn.fetch(
            """SELECT (envelope->'data'->>'seq')::bigint, published_at FROM outbox
               WHERE routing_key = $1 AND (envelope->'data'->>'seq')::bigint > $2""",
            POSTED_KEY, first_seq))
    finally:
        await conn.close()
    conn = await asyncpg.connect(reporting)
    try:
        applied = await conn.fetch("SELECT seq, applied_at FROM applied_transactions WHERE seq > $1 AND seq < $2",
                                   first_seq, FAKE_SEQ)
    finally:
        await conn.close()
    lags = []
    for row in applied:
        if row["seq"] not in created:
            continue
        start, confirmed, end = created[row["seq"]], published.get(row["seq"]), row["applied_at"]
        lags.append(Lag((end - start).total_seconds(), (confirmed - start).total_seconds() if confirmed else None,
                        (end - confirmed).total_seconds() if confirmed else None))
    return lags
