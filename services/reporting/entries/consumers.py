"""The ledger's events: decode, then hand them to their use case (which checks the inbox).

Ledger events are applied in batches (one transaction for all that have arrived, see
common.bus.BatchHandler): one event a transaction cost six statements and most of a core at a few
hundred events a second."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import asyncpg
from aiohttp import web

from common.batches import BatchHandler
from common.bus import PoisonEvent
from common.contracts import queues
from common.contracts.events import TRANSACTION_POSTED, Event, TransactionPosted
from common.logs import get_logger
from common.runtime import BROKER, DB, CleanupCtx
from services.reporting.entries import usecases
from services.reporting.entries.domain import UnreadablePosting

log = get_logger(__name__)


def prepare_ledger_event(event: Event) -> usecases.ArrivedTransaction:
    """Decode one event and work out its log entries; raises PoisonEvent for one no log can hold."""
    if event.type != TRANSACTION_POSTED:
        # The queue is bound to ledger.transaction.posted only; anything else was misrouted, and
        # parking it keeps it visible instead of silently acknowledging it away.
        raise PoisonEvent(f"unexpected event type {event.type!r}")
    posted = event.payload(TransactionPosted)  # a ValidationError dead-letters the event
    try:
        return usecases.arrived(event.id, posted)
    except UnreadablePosting as exc:
        raise PoisonEvent(str(exc)) from exc


def ledger_events_handler(
    app: web.Application, max_batch: int, window_seconds: float
) -> BatchHandler[usecases.ArrivedTransaction]:
    async def apply(batch: Sequence[usecases.ArrivedTransaction]) -> None:
        try:
            applied = await usecases.record_transactions(app[DB], batch)
        except (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError) as exc:
            # A value the log's columns refuse (a quantity beyond bigint, say) is refused every time:
            # poison, not a passing fault. In a batch it sends the events to be applied one by one.
            raise PoisonEvent(f"refused by the log: {exc}") from exc
        log.info("ledger_transactions_recorded", events=len(batch), applied=len(applied),
                 last_seq=max(a.posted.seq for a in batch))
        if len(applied) < len(batch):
            fresh = {a.event_id for a in applied}
            for duplicate in (a for a in batch if a.event_id not in fresh):
                log.info("ledger_transaction_duplicate", event_id=str(duplicate.event_id),
                         transaction_id=str(duplicate.posted.transaction_id), seq=duplicate.posted.seq)

    return BatchHandler(prepare_ledger_event, apply, max_batch=max_batch, window_seconds=window_seconds)


def ledger_events_ctx(max_batch: int, window_seconds: float) -> CleanupCtx:
    """The batch consumer of the ledger's events (common.runtime.consumer_ctx is one event at a time)."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        handler = ledger_events_handler(app, max_batch, window_seconds)
        # Twice a batch: the next one arrives while one is applied.
        await app[BROKER].consume_batches(queues.REPORTING_LEDGER_EVENTS.name, handler, prefetch=2 * max_batch)
        yield  # the broker's own clean-up stops the batch worker before it closes the connection

    return ctx
