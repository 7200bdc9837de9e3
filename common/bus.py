"""RabbitMQ: one topic exchange, every consumer's durable queue with its dead-letter queue, a
publisher that waits for the broker's confirm, and a consumer loop with manual acks.

The whole topology exists before a service publishes (declarations are idempotent): a producer that
started before a consumer would otherwise publish into an exchange with no queue bound yet, and RabbitMQ
would drop the event: a lost credit. Who declares which part: common.topology.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractRobustConnection,
)
from pydantic import ValidationError

from common import event_metrics, topology
from common.batches import BatchHandler, BatchIntake, Delivery, Prepared, take_waiting
from common.contracts.events import Event
from common.logs import get_logger, request_context
from common.topology import filter_exchange_of

log = get_logger(__name__)

__all__ = ["Broker", "EventHandler", "PoisonEvent", "filter_exchange_of"]

RETRY_DELAY_SECONDS = 1.0


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
        self._batch_workers: list[asyncio.Task[None]] = []

    def queue_name(self, spec_name: str) -> str:
        return topology.queue_name(self.exchange_name, spec_name)

    async def connect(self, attempts: int = 60, declaring_attempts: int = 5) -> None:
        for declaring in range(1, declaring_attempts + 1):
            await self._open(attempts)
            try:
                await self._declare_topology()
                return
            except aio_pika.exceptions.AMQPError as exc:
                # A busy broker can time out creating a quorum queue and close the whole connection
                # (541 INTERNAL_ERROR). Declarations are idempotent, so the start-up declares again on a
                # fresh connection rather than leaving a service that never started.
                await self._abandon_connection()
                if declaring == declaring_attempts:
                    log.error("broker_topology_gave_up", attempts=declaring, error=str(exc))
                    raise
                log.warning("broker_topology_retry", attempt=declaring, error=str(exc))
                await asyncio.sleep(declaring)

    async def _open(self, attempts: int) -> None:
        # One line when the broker does not answer, one when it does or when we give up: not a line a second.
        for attempt in range(1, attempts + 1):
            try:
                self._connection = await aio_pika.connect_robust(self._url)
                break
            except (OSError, aio_pika.exceptions.AMQPConnectionError) as exc:
                if attempt == attempts:
                    log.error("broker_gave_up", attempts=attempts, error=str(exc))
                    raise
                if attempt == 1:
                    log.warning("broker_unreachable", error=str(exc), retrying=f"every 1 s for up to {attempts} s")
                await asyncio.sleep(1)
        if attempt > 1:
            log.info("broker_connected", after_attempts=attempt)

    async def _abandon_connection(self) -> None:
        connection, self._connection = self._connection, None
        self._channel = self._exchange = self._dead_letters = None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close()

    async def _declare_topology(self) -> None:
        # What these credentials may declare is declared, the rest must exist (common.topology).
        # On a plain connection of its own: a refused declaration closes its channel, which a robust
        # connection would reopen under the next declaration.
        assert self._connection is not None
        self._channel = await self._connection.channel(publisher_confirms=True)
        async with await aio_pika.connect(self._url) as declaring:
            self._exchange, self._dead_letters = await topology.declare_exchanges(
                declaring, self._channel, self.exchange_name
            )
            await topology.declare_queues(declaring, self._exchange, self._dead_letters)

    def filter_exchange_name(self, spec_name: str) -> str:
        return filter_exchange_of(self.queue_name(spec_name))

    @property
    def is_connected(self) -> bool:
        return self._connection is not None and not self._connection.is_closed and (
            self._channel is not None and not self._channel.is_closed
        )

    async def publish(
        self, envelope: dict[str, object], routing_key: str, headers: Mapping[str, str] | None = None
    ) -> None:
        """Publish one event and return only once the broker has confirmed it (raises otherwise)."""
        await self.publish_raw(json.dumps(envelope).encode(), str(envelope["id"]), routing_key, headers)

    async def publish_raw(
        self, body: bytes, message_id: str, routing_key: str, headers: Mapping[str, str] | None = None
    ) -> None:
        """The same for an envelope already serialised (the outbox keeps them as JSON). `headers`: the
        AMQP headers some queues filter on (common.contracts.headers)."""
        assert self._exchange is not None, "connect() first"
        message = aio_pika.Message(
            body,
            content_type="application/cloudevents+json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=message_id,
            headers=dict(headers) if headers else None,
        )
        await self._exchange.publish(message, routing_key=routing_key, timeout=10)

    def on_reconnect(self, callback: Callable[[], None]) -> None:
        """Call `callback` each time the connection to the broker is made again (a broker restart, a
        network fault): a transient subscription lost whatever was published while it was away."""
        assert self._connection is not None, "connect() first"
        self._connection.reconnect_callbacks.add(lambda *_: callback())

    async def subscribe_transient(
        self, purpose: str, routing_keys: Sequence[str], on_event: Callable[[Event], None]
    ) -> None:
        """A queue of this process's own, bound to `routing_keys`, for fanning events out to what it holds
        (the gateway's live stream): exclusive, auto-delete and not durable, so it goes with the process,
        and consumed without acks (nothing is kept for it while it is away). Not in TOPOLOGY: it is no
        competing consumer. Declared on the robust connection, it is declared, bound and consumed again
        after a reconnection; its name is chosen here (unique) because a server-named one could not be."""
        assert self._connection is not None and self._exchange is not None, "connect() first"
        channel = await self._connection.channel()
        queue = await channel.declare_queue(
            topology.transient_queue_name(self.exchange_name, purpose), exclusive=True, auto_delete=True, durable=False
        )
        for key in routing_keys:
            await queue.bind(self._exchange, routing_key=key)

        async def on_message(message: AbstractIncomingMessage) -> None:
            try:
                on_event(Event.from_json(message.body))
            except ValidationError as exc:
                log.warning("transient_event_undecodable", purpose=purpose, errors=exc.error_count())

        await queue.consume(on_message, no_ack=True)

    async def consume(self, spec_name: str, handler: EventHandler, prefetch: int = 32) -> None:
        assert self._connection is not None, "connect() first"
        channel = await self._connection.channel(publisher_confirms=True)
        await channel.set_qos(prefetch_count=prefetch)
        queue = await channel.get_queue(self.queue_name(spec_name), ensure=True)

        async def on_message(message: AbstractIncomingMessage) -> None:
            await self._deliver(message, handler, spec_name)

        await queue.consume(on_message)

    async def consume_batches(
        self, spec_name: str, handler: BatchHandler[Prepared], prefetch: int = 1000
    ) -> None:
        """Consume with one task that applies whatever has arrived, up to `handler.max_batch` at a time.

        A large prefetch keeps the next batch arriving while one is applied. Only one batch is in
        flight per queue and process, so batches never wait on each other's rows.
        """
        assert self._connection is not None, "connect() first"
        channel = await self._connection.channel(publisher_confirms=True)
        await channel.set_qos(prefetch_count=prefetch)
        queue = await channel.get_queue(self.queue_name(spec_name), ensure=True)
        intake = BatchIntake(queue)
        await intake.start()
        worker = asyncio.create_task(self._apply_batches(intake, handler, spec_name), name=f"consume-{spec_name}")
        self._batch_workers.append(worker)

    async def _apply_batches(
        self, intake: BatchIntake, handler: BatchHandler[Prepared], spec_name: str
    ) -> None:
        arrived = intake.arrived
        while True:
            messages = [await arrived.get()]
            take_waiting(arrived, messages, handler.max_batch)
            if len(messages) < handler.max_batch and handler.window_seconds > 0:
                await asyncio.sleep(handler.window_seconds)
                take_waiting(arrived, messages, handler.max_batch)
            try:
                back = await self._apply_batch(messages, handler, spec_name)
                if back:
                    # As in _deliver: transient until proven otherwise; the delivery limit parks a hopeless one.
                    await asyncio.sleep(RETRY_DELAY_SECONDS)
                    await intake.give_back(back)
            except asyncio.CancelledError:
                raise
            except Exception:
                # Settling a message failed (a channel closed under us, a dead-letter copy the broker
                # did not confirm): whatever is still unsettled goes back for another try, and the
                # inbox makes a second application of what did commit change nothing.
                log.exception("event_batch_settle_failed", queue=spec_name, messages=len(messages))
                for message in messages:
                    if not message.locked:  # locked: acked, nacked or rejected already
                        with contextlib.suppress(Exception):
                            await message.nack(requeue=True)

    async def _apply_batch(
        self, messages: list[AbstractIncomingMessage], handler: BatchHandler[Prepared], spec_name: str
    ) -> list[AbstractIncomingMessage]:
        """Apply what arrived; answers what is to go back to the queue, to be tried again, in order."""
        batch: list[Delivery[Prepared]] = []
        for message in messages:
            delivery = await self._prepare(message, handler, spec_name)
            if delivery is not None:
                batch.append(delivery)
        if not batch:
            return []
        try:
            await handler.apply([d.prepared for d in batch])
        except Exception as exc:
            if len(batch) == 1:
                if await self._refused(batch[0].message, batch[0].event, exc, spec_name):
                    return [batch[0].message]
                return []
            # Which event failed the batch is unknown (one poison event, or a deadlock): nothing of it
            # was committed, so each is applied on its own, and only one that fails alone fails.
            log.warning("event_batch_failed", queue=spec_name, events=len(batch), error=repr(exc)[:500])
            return await self._apply_one_by_one(batch, handler, spec_name)
        for delivery in batch:
            await delivery.message.ack()
            event_metrics.applied(spec_name, delivery.event)
        return []

    async def _prepare(
        self, message: AbstractIncomingMessage, handler: BatchHandler[Prepared], spec_name: str
    ) -> Delivery[Prepared] | None:
        try:
            event = Event.from_json(message.body)
        except ValidationError as exc:
            await self._dead_letter(message, spec_name, f"undecodable envelope: {exc.error_count()} errors")
            return None
        try:
            return Delivery(message, event, handler.prepare(event))
        except Exception as exc:
            if await self._refused(message, event, exc, spec_name):
                await self._retry_later([message])
            return None

    async def _apply_one_by_one(
        self, batch: list[Delivery[Prepared]], handler: BatchHandler[Prepared], spec_name: str
    ) -> list[AbstractIncomingMessage]:
        for index, delivery in enumerate(batch):
            try:
                await handler.apply([delivery.prepared])
            except Exception as exc:
                if await self._refused(delivery.message, delivery.event, exc, spec_name):
                    # Not poison: most likely the database (down, restarting) and not this event, so
                    # the rest go back too instead of each failing in turn, maybe after a timeout.
                    return [d.message for d in batch[index:]]
                continue
            await delivery.message.ack()
        return []

    async def _refused(
        self, message: AbstractIncomingMessage, event: Event, exc: Exception, spec_name: str
    ) -> bool:
        """An event that failed on its own: poison is parked (False); anything else is to retry (True)."""
        if isinstance(exc, PoisonEvent | ValidationError):
            await self._dead_letter(message, spec_name, str(exc)[:500])
            return False
        with request_context(event.requestid):
            log.error("event_handler_failed", event_id=str(event.id), event_type=event.type, exc_info=exc)
        return True

    @staticmethod
    async def _retry_later(messages: Sequence[AbstractIncomingMessage]) -> None:
        # As in _deliver: transient until proven otherwise; the delivery limit parks a hopeless one.
        if not messages:
            return
        await asyncio.sleep(RETRY_DELAY_SECONDS)
        for message in messages:
            await message.nack(requeue=True)

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
            event_metrics.applied(spec_name, event)

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
        # Batch workers first: a batch cut short commits nothing and acks nothing, so the broker
        # redelivers it to the next consumer when the connection goes.
        for worker in self._batch_workers:
            worker.cancel()
        for worker in self._batch_workers:
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        self._batch_workers.clear()
        if self._connection is not None:
            await self._connection.close()

