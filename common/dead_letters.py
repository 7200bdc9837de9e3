"""The dead-letter queues, for an operator: see what was parked and why, and replay it after a fix.

    python -m common.dead_letters list reporting.ledger-events
    python -m common.dead_letters replay reporting.ledger-events [--limit N]

(BROKER_URL and EXCHANGE_NAME name the broker and the system, as for the services.)

A consumer parks an event it can never process in its queue's `.dlq` with the reason in the
`x-poison-reason` header; RabbitMQ parks one that failed `DELIVERY_LIMIT` times, with `x-death`. Once
the cause is fixed (a code change deployed, missing data supplied), `replay` moves the parked messages
back to the consumer's own queue: through the default exchange, straight to that one queue, because
the topic exchange would hand a copy to every other consumer of the event as well. Each is published
with a publisher confirm before it is acknowledged in the dead-letter queue, so a crash in between
replays it twice, never loses it, and the consumer's inbox makes twice the same as once. Only the
messages parked when the replay starts are replayed: one still unprocessable is parked again behind
them, not replayed in a loop.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import dataclass, field
from typing import Any

import aio_pika
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from common.contracts.queues import TOPOLOGY
from common.settings import LOCAL_RABBITMQ

REASON = "x-poison-reason"
REPLAYED = "x-replayed"
# What the dead-lettering added: dropped on replay so that the message starts afresh in its queue.
_DEAD_LETTER_HEADERS = (REASON, "x-death", "x-first-death-exchange", "x-first-death-queue", "x-first-death-reason",
                        "x-last-death-exchange", "x-last-death-queue", "x-last-death-reason", "x-delivery-count")


class DeadLetterSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True, env_prefix="SMS_CREDITS_FIELD_")

    broker_url: str = Field(default=LOCAL_RABBITMQ, validation_alias="BROKER_URL")
    exchange: str = Field(default="sms-credits", validation_alias="EXCHANGE_NAME")


@dataclass(frozen=True)
class Parked:
    message_id: str | None
    event_type: str | None
    reason: str
    replayed_before: int


@dataclass
class Replay:
    queue: str
    parked: int  # in the dead-letter queue when the replay started
    replayed: list[Parked] = field(default_factory=list)


def _reason(headers: dict[str, Any]) -> str:
    if REASON in headers:
        return str(headers[REASON])
    deaths = headers.get("x-death") or []
    if deaths:
        death = deaths[0]
        return f"{death.get('reason', 'dead-lettered')} after {death.get('count', '?')} deliveries"
    return "no reason recorded"


def _event_type(body: bytes) -> str | None:
    try:
        envelope = json.loads(body)
    except ValueError:
        return None  # undecodable: likely why it was parked
    return str(envelope.get("type")) if isinstance(envelope, dict) else None


def _parked(message: aio_pika.abc.AbstractIncomingMessage) -> Parked:
    headers: dict[str, Any] = dict(message.headers or {})
    return Parked(message.message_id, _event_type(message.body), _reason(headers), int(headers.get(REPLAYED, 0)))


def _queue_names(exchange: str, spec_name: str) -> tuple[str, str]:
    if spec_name not in {spec.name for spec in TOPOLOGY}:
        known = ", ".join(spec.name for spec in TOPOLOGY)
        raise ValueError(f"no queue {spec_name!r}; the queues are: {known}")
    return f"{exchange}.{spec_name}", f"{exchange}.{spec_name}.dlq"


async def parked(broker_url: str, exchange: str, spec_name: str) -> list[Parked]:
    """The parked messages, left where they are (taken unacknowledged, then given back)."""
    _, dead = _queue_names(exchange, spec_name)
    connection = await aio_pika.connect(broker_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(dead, passive=True)
        count = queue.declaration_result.message_count or 0
        found = []
        for _ in range(count):
            message = await queue.get(no_ack=False, fail=False)
            if message is None:
                break
            found.append(_parked(message))
        await channel.close()  # every message taken goes back, in order
    return found


async def replay(broker_url: str, exchange: str, spec_name: str, limit: int | None = None) -> Replay:
    """Move the parked messages (at most `limit`) back to the queue they were parked from."""
    target, dead = _queue_names(exchange, spec_name)
    connection = await aio_pika.connect(broker_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        await channel.declare_queue(target, passive=True)  # it must exist: nothing is replayed into a void
        queue = await channel.declare_queue(dead, passive=True)
        done = Replay(spec_name, queue.declaration_result.message_count or 0)
        todo = done.parked if limit is None else min(limit, done.parked)
        for _ in range(todo):
            message = await queue.get(no_ack=False, fail=False)
            if message is None:
                break
            parked_message = _parked(message)
            headers = {k: v for k, v in (message.headers or {}).items() if k not in _DEAD_LETTER_HEADERS}
            headers[REPLAYED] = parked_message.replayed_before + 1
            copy = aio_pika.Message(message.body, headers=headers, content_type=message.content_type,
                                    message_id=message.message_id, delivery_mode=aio_pika.DeliveryMode.PERSISTENT)
            await channel.default_exchange.publish(copy, routing_key=target, mandatory=True, timeout=10)
            await message.ack()
            done.replayed.append(parked_message)
    return done


def _describe(message: Parked) -> str:
    again = f" (replayed {message.replayed_before}x before)" if message.replayed_before else ""
    return f"  {message.message_id} {message.event_type or ''}: {message.reason}{again}"


async def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m common.dead_letters",
                                     description="List or replay the messages parked in a dead-letter queue.")
    parser.add_argument("action", choices=("list", "replay"))
    parser.add_argument("queue", help="the consumer's queue, e.g. reporting.ledger-events")
    parser.add_argument("--limit", type=int, default=None, help="replay at most this many")
    args = parser.parse_args(argv)
    settings = DeadLetterSettings()
    try:
        if args.action == "list":
            found = await parked(settings.broker_url, settings.exchange, args.queue)
            print(f"{args.queue}: {len(found)} message(s) parked")
            print("\n".join(_describe(m) for m in found) if found else "", end="\n" if found else "")
            return 0
        done = await replay(settings.broker_url, settings.exchange, args.queue, args.limit)
    except ValueError as exc:
        sys.stderr.write(f"dead letters: {exc}\n")
        return 2
    print(f"{args.queue}: replayed {len(done.replayed)} of {done.parked} parked message(s)")
    for message in done.replayed:
        print(_describe(message))
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(sys.argv[1:])))
