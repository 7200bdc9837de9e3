"""The outbox relay publishes every row at least once, even when SIGKILLed mid-batch, and a consumer's
inbox turns that into exactly one effect per event."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg

from common import outbox
from common.bus import Broker
from common.contracts.events import Event
from common.db import create_pool
from common.inbox import first_delivery
from common.outbox import OutboxRelay
from tests.conftest import Infra
from tests.integration.common.conftest import posted_event
from tests.support import eventually

ROOT = Path(__file__).resolve().parents[3]
EVENTS = 3000
QUEUE = "reporting.ledger-events"


async def _fill_outbox(conn: asyncpg.Connection, count: int) -> set[uuid.UUID]:
    ids = set()
    async with conn.transaction():
        for seq in range(count):
            event = posted_event(seq=seq)
            await outbox.enqueue(conn, event)
            ids.add(event.id)
    return ids


async def _queue_depth(broker: Broker) -> int:
    import aio_pika

    connection = await aio_pika.connect(broker._url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(broker.queue_name(QUEUE), passive=True)
        return queue.declaration_result.message_count or 0


async def test_relay_killed_mid_batch_loses_nothing_and_the_inbox_applies_each_event_once(
    infra: Infra, database: str, conn: asyncpg.Connection, broker: Broker, exchange_name: str
):
    expected = await _fill_outbox(conn, EVENTS)
    relay = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("relay_process.py")), database, infra.broker_url,
         exchange_name, "500"],
        cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(400):  # kill as soon as the first batch is on the wire, before it is marked
            if await _queue_depth(broker) > 0:
                break
            await asyncio.sleep(0.01)
        relay.send_signal(signal.SIGKILL)
        relay.wait(timeout=10)
    finally:
        if relay.poll() is None:
            relay.kill()
    marked_at_kill = await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NOT NULL")
    assert marked_at_kill < EVENTS, "the relay finished before it was killed: nothing was tested"

    pool = await create_pool(database, 4)
    try:
        restarted = OutboxRelay(database, pool, broker, batch_size=500)
        while await restarted.publish_batch():
            pass
        assert await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0

        delivered: list[uuid.UUID] = []
        handled = 0

        async def apply(event: Event) -> None:
            nonlocal handled
            delivered.append(event.id)
            async with pool.acquire() as c, c.transaction():
                if await first_delivery(c, "test-consumer", event.id):
                    await c.execute("INSERT INTO effects (event_id) VALUES ($1)", event.id)
            handled += 1

        await broker.consume(QUEUE, apply, prefetch=200)
        for _ in range(600):
            settled = handled == len(delivered)
            if settled and set(delivered) >= expected and await _queue_depth(broker) == 0:
                break
            await asyncio.sleep(0.05)
        effects = await conn.fetch("SELECT event_id FROM effects")
    finally:
        await pool.close()
    print(f"\nrelay killed after {marked_at_kill} marked; {len(delivered)} deliveries of {EVENTS} events")
    assert set(delivered) == expected  # every row published at least once
    assert len(effects) == EVENTS  # and applied exactly once
    assert {r["event_id"] for r in effects} == expected


async def test_the_relay_outlives_errors_it_did_not_expect_and_a_database_that_cut_its_connections(
    database: str, conn: asyncpg.Connection, broker: Broker
):
    """Found by the fault campaign: after a Postgres restart a pooled connection raised asyncpg's
    InternalClientError, which the relay did not catch; its task ended, the service went on answering,
    and three paid purchases were never credited."""
    pool = await create_pool(database, 2)
    relay = OutboxRelay(database, pool, broker, batch_size=50)
    real_publish = relay.publish_batch
    failures = [asyncpg.InternalClientError("cannot switch to state 15; another operation (2) is in progress"),
                RuntimeError("anything else")]

    async def failing_then_real() -> int:
        if failures:
            raise failures.pop(0)
        return await real_publish()

    relay.publish_batch = failing_then_real  # type: ignore[method-assign]
    task = asyncio.create_task(relay.run())
    try:
        first = await _fill_outbox(conn, 100)
        await eventually(lambda: _unpublished_is(conn, 0), timeout=20)
        assert not failures and not task.done()

        # What a Postgres restart does to the relay's connections: cut every one of them.
        await conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        second = await _fill_outbox(conn, 100)
        await eventually(lambda: _unpublished_is(conn, 0), timeout=20)
        assert not task.done()
        published = {r["event_id"] for r in await conn.fetch("SELECT event_id FROM outbox")}
        assert published == first | second
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await relay.close()
        await pool.close()


async def _unpublished_is(conn: asyncpg.Connection, count: int) -> bool:
    return await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == count
