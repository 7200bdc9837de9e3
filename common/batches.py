"""Batch consumption: what a consumer that applies many events in one transaction provides, and the
subscription that hands its batch worker what arrived (giving events back in order when a batch fails)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from aio_pika.abc import AbstractIncomingMessage, AbstractQueue

from common.contracts.events import Event

Prepared = TypeVar("Prepared")


@dataclass(frozen=True)
class BatchHandler(Generic[Prepared]):
    """A consumer that applies many events in one transaction.

    `prepare` is pure and runs per event: it decodes the payload and raises PoisonEvent (or a
    ValidationError) for an event that can never be applied, which then goes to the dead-letter queue
    on its own. `apply` applies what the events prepared, all or nothing (one transaction); it may be
    given a single event too. The messages are acknowledged only after `apply` returned, so a crash
    mid-batch redelivers the whole batch, and the consumer's inbox makes the redelivery change nothing.
    """

    prepare: Callable[[Event], Prepared]
    apply: Callable[[Sequence[Prepared]], Awaitable[None]]
    max_batch: int = 500
    # After the first event of a batch arrives, how long to wait for more before applying: a few
    # milliseconds of latency when the queue is quiet, and nothing when it is busy (the batch is full).
    window_seconds: float = 0.002


@dataclass(frozen=True)
class Delivery(Generic[Prepared]):
    message: AbstractIncomingMessage
    event: Event
    prepared: Prepared


class BatchIntake:
    """A batch consumer's subscription and what it has received and not yet applied.

    Giving events back keeps their order: the subscription is cancelled (after CancelOk nothing more
    arrives), the events that failed go back, then all that arrived behind them, then it consumes again.
    A quorum queue hands returned messages out again first, in the order returned, so the consumer meets
    them in the order published, never a later one first (which an order-keeping consumer, like the
    webhook deliveries, would pass on)."""

    def __init__(self, queue: AbstractQueue) -> None:
        self._queue = queue
        self._tag: str | None = None
        self.arrived: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()

    async def start(self) -> None:
        self._tag = await self._queue.consume(self.arrived.put)

    async def give_back(self, messages: Sequence[AbstractIncomingMessage]) -> None:
        if self._tag is not None:
            await self._queue.cancel(self._tag)
            self._tag = None
        waiting = []
        while not self.arrived.empty():
            waiting.append(self.arrived.get_nowait())
        for message in [*messages, *waiting]:
            with contextlib.suppress(Exception):  # a channel gone takes them back by itself
                await message.nack(requeue=True)
        await self.start()


def take_waiting(
    arrived: asyncio.Queue[AbstractIncomingMessage], into: list[AbstractIncomingMessage], most: int
) -> None:
    while len(into) < most and not arrived.empty():
        into.append(arrived.get_nowait())
