"""What one event costs RabbitMQ (`beam.smp`) per queue it goes to, by queue type: a quorum queue (what
every consumer's queue is), a classic durable queue, and a stream. Each takes the same events, of the
size of a transfer's `ledger.transaction.posted`: published persistent with confirms pipelined as the
relay publishes them, and consumed with acknowledgements as the consumers do. The figure that matters
is the broker's CPU per event, beside the publisher's and consumer's own (this process)."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import aio_pika

from bench import infra, machine
from bench.modes import Mode
from bench.options import Options
from bench.results import Result, Row

NAME = "queue_costs"
EVENT_BYTES = 1_600  # a transfer's envelope: two postings, two lots, the CloudEvents attributes
PUBLISH_BATCH = 500  # the relay's batch
PREFETCH = 400
TYPES: dict[str, dict[str, Any]] = {
    "quorum": {"x-queue-type": "quorum"},
    "classic": {"x-queue-type": "classic"},
    "stream": {"x-queue-type": "stream"},
}


async def run(mode: Mode, options: Options, result: Result) -> None:
    events = 3_000 if mode.name == "quick" else 20_000
    for name, arguments in TYPES.items():
        await _one(result, name, arguments, events)
    result.notes.append(f"{events:,} events of {EVENT_BYTES:,} bytes per queue type; published persistent with "
                        f"confirms, {PUBLISH_BATCH} in flight, consumed with acks (prefetch {PREFETCH})")


async def _one(result: Result, kind: str, arguments: dict[str, Any], events: int) -> None:
    beam = machine.pids_named("beam.smp")
    connection = await aio_pika.connect(infra.BROKER_URL)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        await channel.set_qos(prefetch_count=PREFETCH)
        name = f"bench-{kind}-{uuid.uuid4().hex[:6]}"
        exchange = await channel.declare_exchange(name, aio_pika.ExchangeType.TOPIC, auto_delete=True)
        queue = await channel.declare_queue(name, durable=True, arguments=arguments)
        await queue.bind(exchange, routing_key="ledger.transaction.posted")
        body = b"x" * EVENT_BYTES
        try:
            broker_before, client_before = _cpu(beam), time.process_time()
            started = time.perf_counter()
            for first in range(0, events, PUBLISH_BATCH):
                await asyncio.gather(*(
                    exchange.publish(aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                                                      message_id=str(n)), "ledger.transaction.posted")
                    for n in range(first, min(first + PUBLISH_BATCH, events))
                ))
            published = time.perf_counter() - started
            await _consume(queue, events, kind)
            seconds = time.perf_counter() - started
            broker = _cpu(beam) - broker_before
            client = time.process_time() - client_before
        finally:
            await queue.delete(if_unused=False, if_empty=False)
            await exchange.delete()
    result.add(Row(
        case=f"{kind} queue", throughput=round(events / seconds, 1), unit="events/s", requests=events,
        load1=machine.load()[0],
        note=f"RabbitMQ {1e6 * broker / events:.0f} us CPU per event; publisher+consumer {1e6 * client / events:.0f} "
             f"us; published in {published:.1f} s, all consumed in {seconds:.1f} s",
        details={"broker_cpu_us_per_event": round(1e6 * broker / events, 1),
                 "client_cpu_us_per_event": round(1e6 * client / events, 1), "seconds": round(seconds, 2)},
    ))


def _cpu(pids: list[int]) -> float:
    return sum(machine.process_cpu_seconds(pid) for pid in pids)


async def _consume(queue: aio_pika.abc.AbstractQueue, events: int, kind: str) -> None:
    done = asyncio.get_running_loop().create_future()
    seen = 0

    async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        nonlocal seen
        await message.ack()
        seen += 1
        if seen == events and not done.done():
            done.set_result(None)

    # A stream is read from an offset; the others hand over what they hold.
    arguments: dict[str, Any] | None = {"x-stream-offset": "first"} if kind == "stream" else None
    tag = await queue.consume(on_message, arguments=arguments)
    try:
        await asyncio.wait_for(done, timeout=300)
    finally:
        await queue.cancel(tag)
