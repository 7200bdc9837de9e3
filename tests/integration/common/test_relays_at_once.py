"""Two outbox relays at once against one outbox, as two replicas of a service run them: together they
publish every event and none twice, and the rows one of them held when it died (or could not publish)
are published by the other afterwards.

Each relay has its own pool and its own broker connection, as a replica would. What reached the broker is
counted on a queue of the test's own, bound to every routing key of the exchange.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any

import aio_pika
import asyncpg
import pytest

from common import outbox
from common.bus import Broker
from common.db import create_pool
from common.outbox import OutboxRelay
from tests.conftest import Infra
from tests.integration.common.conftest import posted_event
from tests.support import eventually

BATCH = 100  # small beside the events, so that both relays take batches all along

PublishRaw = Callable[[bytes, str, str, Mapping[str, str] | None], Awaitable[None]]


@dataclass
class Replica:
    relay: OutboxRelay
    broker: Broker
    published: int = 0  # events this replica's relay had confirmed and marked

    async def drain(self) -> None:
        """Publish batches until a round takes nothing: the outbox is empty, or the rest is held (locked)
        by the other relay, or nothing this round took was confirmed."""
        while count := await self.relay.publish_batch():
            self.published += count


@pytest.fixture
async def replicas(infra: Infra, database: str, exchange_name: str) -> AsyncIterator[tuple[Replica, Replica]]:
    made: list[Replica] = []
    pools: list[asyncpg.Pool] = []
    try:
        for _ in range(2):
            broker = Broker(infra.broker_url, exchange_name)
            await broker.connect()
            pool = await create_pool(database, 2)
            pools.append(pool)
            made.append(Replica(OutboxRelay(database, pool, broker, batch_size=BATCH), broker))
        yield made[0], made[1]
    finally:
        for replica in made:
            await replica.relay.close()
            await replica.broker.close()
        for pool in pools:
            await pool.close()


@dataclass
class Tap:
    """A queue of the test's own that gets a copy of every event published to the exchange."""

    channel: aio_pika.abc.AbstractChannel
    queue_name: str

    async def message_ids(self) -> Counter[str]:
        """How often each message id arrived, read once the relays are done. The depth is taken before
        consuming: a relay that published a row twice left two messages."""
        queue = await self.channel.declare_queue(self.queue_name, passive=True)
        depth = queue.declaration_result.message_count or 0
        received: Counter[str] = Counter()
        if not depth:
            return received
        async with asyncio.timeout(10), queue.iterator(no_ack=True) as messages:
            async for message in messages:
                received[str(message.message_id)] += 1
                if received.total() == depth:
                    break
        return received


@pytest.fixture
async def tap(infra: Infra, exchange_name: str, replicas: tuple[Replica, Replica]) -> AsyncIterator[Tap]:
    # After `replicas`: their brokers declared the exchange this queue is bound to.
    connection = await aio_pika.connect(infra.broker_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(f"{exchange_name}.tap", exclusive=True, auto_delete=True)
        await queue.bind(exchange_name, routing_key="#")
        yield Tap(channel, queue.name)


async def _fill_outbox(conn: asyncpg.Connection, count: int) -> set[str]:
    ids = set()
    async with conn.transaction():
        for seq in range(count):
            event = posted_event(seq=seq)
            await outbox.enqueue(conn, event)
            ids.add(str(event.id))
    return ids


async def _unpublished(conn: asyncpg.Connection) -> set[str]:
    return {str(r["event_id"]) for r in await conn.fetch("SELECT event_id FROM outbox WHERE published_at IS NULL")}


async def test_two_relays_at_once_publish_every_event_once_and_share_the_work(
    conn: asyncpg.Connection, replicas: tuple[Replica, Replica], tap: Tap
) -> None:
    expected = await _fill_outbox(conn, 2000)
    first, second = replicas

    await _at_once(first.drain(), second.drain())

    # Without SKIP LOCKED both would read the same unpublished rows and publish them twice each.
    assert await _unpublished(conn) == set()
    assert first.published > 0 and second.published > 0, "one relay did all the work: they never overlapped"
    assert first.published + second.published == len(expected)
    assert await tap.message_ids() == Counter(expected)  # every event, each once


async def test_the_batch_a_dying_relay_held_is_published_by_the_other_after_it(
    conn: asyncpg.Connection, replicas: tuple[Replica, Replica], tap: Tap
) -> None:
    expected = await _fill_outbox(conn, 5 * BATCH)
    dying, survivor = replicas
    # The dying relay's broker confirms the first few events of its batch, then never answers again:
    # its batch is on the wire, half confirmed, unmarked, its rows locked, when its process dies.
    confirmed: set[str] = set()
    calls = 0
    hung = asyncio.Event()
    real_publish: PublishRaw = dying.broker.publish_raw

    async def publish_then_hang(body: bytes, message_id: str, routing_key: str,
                                headers: Mapping[str, str] | None = None) -> None:
        nonlocal calls
        calls += 1
        if calls > 10:
            if calls == BATCH:
                hung.set()
            await asyncio.Event().wait()
        await real_publish(body, message_id, routing_key, headers)
        confirmed.add(message_id)

    dying.broker.publish_raw = publish_then_hang  # type: ignore[method-assign]
    dying_batch = asyncio.create_task(dying.relay.publish_batch())
    try:
        await asyncio.wait_for(hung.wait(), timeout=5)
        await eventually(lambda: _is(len(confirmed), 10))

        # While it holds its batch, the other publishes everything else and passes its rows over
        # (without SKIP LOCKED it would wait on them for as long as the dying relay takes to die).
        async with asyncio.timeout(10):
            await survivor.drain()
        held = await _unpublished(conn)
        assert len(held) == BATCH and confirmed <= held
        assert survivor.published == len(expected) - BATCH
    finally:
        # It dies: its transaction is rolled back, its locks released. (Also when an assertion failed:
        # a batch left hanging would hold its pooled connection, and closing the pool would wait forever.)
        dying_batch.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await dying_batch
    await survivor.drain()

    assert await _unpublished(conn) == set()
    assert survivor.published == len(expected)
    received = await tap.message_ids()
    assert set(received) == expected  # every event at least once
    # Twice only where the module's docstring allows it: published, confirmed, never marked.
    assert {message_id for message_id, times in received.items() if times > 1} == confirmed
    assert max(received.values()) == 2


async def test_rows_a_relay_could_not_publish_stay_unmarked_and_are_published_later_once(
    conn: asyncpg.Connection, replicas: tuple[Replica, Replica], tap: Tap
) -> None:
    expected = await _fill_outbox(conn, 10 * BATCH)
    flaky, survivor = replicas
    # The flaky relay's broker refuses every other event (as a publish that is nacked or times out).
    refused: set[str] = set()
    calls = 0
    real_publish: PublishRaw = flaky.broker.publish_raw

    async def publish_every_other(body: bytes, message_id: str, routing_key: str,
                                  headers: Mapping[str, str] | None = None) -> None:
        nonlocal calls
        calls += 1
        if calls % 2:
            refused.add(message_id)
            raise OSError("not confirmed")
        await real_publish(body, message_id, routing_key, headers)

    flaky.broker.publish_raw = publish_every_other  # type: ignore[method-assign]
    await _at_once(flaky.drain(), survivor.drain())
    await survivor.drain()  # its next round: whatever the flaky one left unmarked is free now

    assert refused and flaky.published > 0, "the flaky relay never took part"
    assert await _unpublished(conn) == set()
    assert flaky.published + survivor.published == len(expected)
    assert await tap.message_ids() == Counter(expected)  # the refused ones too, and nothing twice


async def _at_once(*rounds: Coroutine[Any, Any, None]) -> None:
    # A task group, not gather: when one fails, the other is cancelled rather than left running on a
    # pool the fixture is about to close.
    async with asyncio.TaskGroup() as group:
        for publishing in rounds:
            group.create_task(publishing)


async def _is(actual: int, wanted: int) -> bool:
    return actual == wanted
