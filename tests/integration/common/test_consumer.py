from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence

import aio_pika
import asyncpg

from common.batches import BatchHandler
from common.bus import Broker
from common.contracts import events
from common.contracts.events import Event
from common.db import create_pool
from common.inbox import first_delivery
from tests.conftest import Infra
from tests.integration.common.conftest import posted_event

QUEUE = "reporting.ledger-events"


async def _raw_publish(infra: Infra, exchange: str, routing_key: str, body: bytes) -> None:
    connection = await aio_pika.connect(infra.broker_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        ex = await channel.get_exchange(exchange)
        await ex.publish(aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT), routing_key)


async def _eventually(condition: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def test_the_same_event_received_twice_is_applied_once(
    database: str, conn: asyncpg.Connection, broker: Broker
):
    pool = await create_pool(database, 2)
    seen: list[uuid.UUID] = []

    async def apply(event: Event) -> None:
        seen.append(event.id)
        async with pool.acquire() as c, c.transaction():
            if await first_delivery(c, "test", event.id):
                await c.execute("INSERT INTO effects (event_id) VALUES ($1)", event.id)

    try:
        await broker.consume(QUEUE, apply)
        event = posted_event()
        envelope = event.model_dump(mode="json", exclude_none=True)
        await broker.publish(envelope, event.routing_key)
        await broker.publish(envelope, event.routing_key)

        async def both_delivered() -> bool:
            return len(seen) == 2

        await _eventually(both_delivered)
        assert await conn.fetchval("SELECT count(*) FROM effects WHERE event_id = $1", event.id) == 1
    finally:
        await pool.close()


async def test_undecodable_message_goes_to_the_dead_letter_queue_and_does_not_block_the_next(
    infra: Infra, broker: Broker, exchange_name: str
):
    applied: list[uuid.UUID] = []

    async def apply(event: Event) -> None:
        applied.append(event.id)

    await broker.consume(QUEUE, apply)
    await _raw_publish(infra, exchange_name, events.routing_key(events.TRANSACTION_POSTED), b"this is not an event")
    good = posted_event()
    await broker.publish(good.model_dump(mode="json", exclude_none=True), good.routing_key)

    async def good_applied() -> bool:
        return good.id in applied

    await _eventually(good_applied)

    connection = await aio_pika.connect(infra.broker_url)
    async with connection:
        channel = await connection.channel()
        dlq = await channel.declare_queue(broker.queue_name(QUEUE) + ".dlq", passive=True)
        message = None
        for _ in range(100):
            message = await dlq.get(fail=False)
            if message:
                break
            await asyncio.sleep(0.05)
        assert message is not None, "nothing reached the dead-letter queue"
        assert message.body == b"this is not an event"
        assert "undecodable" in str((message.headers or {}).get("x-poison-reason"))
        await message.ack()


async def test_a_batch_that_goes_back_to_the_queue_takes_what_arrived_behind_it_along_in_order(
    infra: Infra, broker: Broker, exchange_name: str
):
    """A consumer that keeps order (webhook deliveries) must not meet events published after the ones it
    gave back first."""
    applied: list[uuid.UUID] = []
    failures = [True]  # the first batch fails as a database restart would, then all is well

    def prepare(event: Event) -> uuid.UUID:
        return event.id

    async def apply(batch: Sequence[uuid.UUID]) -> None:
        await asyncio.sleep(0.05)  # long enough for the rest to be prefetched behind the first batch
        if failures and failures.pop():
            raise ConnectionError("the database went away")
        applied.extend(batch)

    published = [posted_event() for _ in range(60)]
    await broker.consume_batches(QUEUE, BatchHandler(prepare, apply, max_batch=5, window_seconds=0))
    for event in published:
        await broker.publish(event.model_dump(mode="json", exclude_none=True), event.routing_key)

    async def all_applied() -> bool:
        return len(set(applied)) == len(published)

    await _eventually(all_applied, timeout=20)
    assert applied == [e.id for e in published]
