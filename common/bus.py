"""RabbitMQ: one topic exchange, every consumer's durable queue with its dead-letter queue, a
publisher that waits for the broker's confirm, and a consumer loop with manual acks.

The whole topology is declared by every service at start-up (declarations are idempotent). A producer
that starts before a consumer would otherwise publish into an exchange with no queue bound yet, and
RabbitMQ would drop the event: a lost credit.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractRobustConnection,
)
from pydantic import ValidationError

from common import events
from common.events import Event
from common.logs import get_logger, request_context

log = get_logger(__name__)

# After this many failed deliveries RabbitMQ moves the message to the dead-letter queue itself, so a
# message that crashes its handler every time cannot block the queue forever.
DELIVERY_LIMIT = 30
RETRY_DELAY_SECONDS = 1.0


@dataclass(frozen=True)
class QueueSpec:
    name: str
    routing_keys: tuple[str, ...]


# Every consumer queue in the system, with the events it receives.
TOPOLOGY: tuple[QueueSpec, ...] = (
    QueueSpec("ledger.purchases", (events.PURCHASE_PAID,)),
    QueueSpec("ledger.directory", (events.TENANT_CHANGED, events.USER_CHANGED, events.CREDIT_MODE_CHANGED)),
    QueueSpec("billing.ledger-events", (events.TRANSACTION_POSTED,)),
    QueueSpec("reporting.ledger-events", (events.TRANSACTION_POSTED,)),
    QueueSpec("reporting.directory", (events.TENANT_CHANGED, events.USER_CHANGED)),
    QueueSpec("ledger.refunds", (events.REFUND_REQUESTED, events.REFUND_FAILED)),
    QueueSpec("billing.refund-outcomes", (events.REFUND_DEBITED, events.REFUND_REJECTED, events.REFUND_RESTORED)),
    QueueSpec("billing.directory", (events.USER_CHANGED,)),
    QueueSpec("messaging.outgoing", (events.MESSAGE_QUEUED,)),
    QueueSpec("ledger.spending", (events.MESSAGE_SETTLED,)),
)


class PoisonEvent(Exception):
    """An event that can never be processed as it is: it goes to the dead-letter queue, not back."""


EventHandler = Callable[[Event], Awaitable[None]]


class Broker:
    def __init__(self, url: str, exchange: str) -> None:
        self._url = url
        self.exchange_name = exchange
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None
        self._dead_letters: AbstractExchange | None = None

    def queue_name(self, spec_name: str) -> str:
        # Prefixed by the exchange so that test runs sharing one broker never share queues.
        return f"{self.exchange_name}.{spec_name}"

    async def connect(self, attempts: int = 60) -> None:
        for attempt in range(1, attempts + 1):
            try:
                self._connection = await aio_pika.connect_robust(self._url)
                break
            except (OSError, aio_pika.exceptions.AMQPConnectionError) as exc:
                if attempt == attempts:
                    raise
                log.warning("broker_unreachable", attempt=attempt, error=str(exc))
                await asyncio.sleep(1)
        assert self._connection is not None
        self._channel = await self._connection.channel(publisher_confirms=True)
        self._exchange = await self._channel.declare_exchange(
            self.exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
        )
        self._dead_letters = await self._channel.declare_exchange(
            f"{self.exchange_name}.dlx", aio_pika.ExchangeType.DIRECT, durable=True
        )
        for spec in TOPOLOGY:
            await self._declare(spec)

    async def _declare(self, spec: QueueSpec) -> None:
        assert self._channel and self._exchange and self._dead_letters
        name = self.queue_name(spec.name)
        dead = await self._channel.declare_queue(
            f"{name}.dlq", durable=True, arguments={"x-queue-type": "quorum"}
        )
        await dead.bind(self._dead_letters, routing_key=name)
        queue = await self._channel.declare_queue(
            name,
            durable=True,
            arguments={
                "x-queue-type": "quorum",
                "x-delivery-limit": DELIVERY_LIMIT,
                "x-dead-letter-exchange": self._dead_letters.name,
                "x-dead-letter-routing-key": name,
            },
        )
        for key in spec.routing_keys:
            await queue.bind(self._exchange, routing_key=key)

    @property
    def is_connected(self) -> bool:
        return self._connection is not None and not self._connection.is_closed and (
            self._channel is not None and not self._channel.is_closed
        )

    async def publish(self, envelope: dict[str, object], routing_key: str) -> None:
        """Publish one event and return only once the broker has confirmed it (raises otherwise)."""
        assert self._exchange is not None, "connect() first"
        message = aio_pika.Message(
            json.dumps(envelope).encode(),
            content_type="application/cloudevents+json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=str(envelope["id"]),
        )
        await self._exchange.publish(message, routing_key=routing_key, timeout=10)

    async def consume(self, spec_name: str, handler: EventHandler, prefetch: int = 32) -> None:
        assert self._connection is not None, "connect() first"
        channel = await self._connection.channel(publisher_confirms=True)
        await channel.set_qos(prefetch_count=prefetch)
        queue = await channel.get_queue(self.queue_name(spec_name), ensure=True)

        async def on_message(message: AbstractIncomingMessage) -> None:
            await self._deliver(message, handler, spec_name)

        await queue.consume(on_message)

    async def _deliver(
        self, message: AbstractIncomingMessage, handler: EventHandler, spec_name: str
    ) -> None:
        try:
            event = Event.from_json(message.body)
        except ValidationError as exc:
            await self._dead_letter(message, spec_name, f"undecodable envelope: {exc.error_count()} errors")
            return
        with request_context(event.requestid):
            try:
                await handler(event)
            except (PoisonEvent, ValidationError) as exc:
                await self._dead_letter(message, spec_name, str(exc)[:500])
                return
            except Exception:
                # Transient until proven otherwise (a database restart, a lock timeout): back off,
                # then give it back; the delivery limit sends a hopeless one to the dead-letter queue.
                log.exception("event_handler_failed", event_id=str(event.id), event_type=event.type)
                await asyncio.sleep(RETRY_DELAY_SECONDS)
                await message.nack(requeue=True)
                return
            await message.ack()

    async def _dead_letter(self, message: AbstractIncomingMessage, spec_name: str, reason: str) -> None:
        """Park a message with the reason it was refused; ack only after the broker confirmed the copy."""
        assert self._dead_letters is not None
        log.error("event_dead_lettered", queue=spec_name, reason=reason, message_id=message.message_id)
        copy = aio_pika.Message(
            message.body,
            content_type=message.content_type,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=message.message_id,
            headers={**(message.headers or {}), "x-poison-reason": reason},
        )
        await self._dead_letters.publish(copy, routing_key=self.queue_name(spec_name), timeout=10)
        await message.ack()

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
