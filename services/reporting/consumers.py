"""Event handlers: decode, then hand the event to its use case (which checks the inbox).

Ledger events are applied in batches (one transaction for all that have arrived, see
common.bus.BatchHandler): one event a transaction cost six statements and most of a core at a few
hundred events a second."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
from aiohttp import web

from common.bus import BatchHandler, EventHandler, PoisonEvent
from common.events import (
    TENANT_CHANGED,
    TRANSACTION_POSTED,
    USER_CHANGED,
    Event,
    TenantChanged,
    TransactionPosted,
    UserChanged,
)
from common.logs import get_logger
from common.runtime import DB
from services.reporting import usecases
from services.reporting.domain import UnreadablePosting

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


def directory_handler(app: web.Application) -> EventHandler:
    """Names and time zones for the CSV and the report, copied from the gateway's directory."""

    async def handle(event: Event) -> None:
        if event.type == TENANT_CHANGED:
            tenant = event.payload(TenantChanged)
            applied = await usecases.record_tenant(app[DB], event.id, tenant)
            subject = {"tenant_id": str(tenant.tenant_id), "version": tenant.version}
        elif event.type == USER_CHANGED:
            user = event.payload(UserChanged)
            applied = await usecases.record_user(app[DB], event.id, user)
            subject = {"user_id": str(user.user_id), "version": user.version}
        else:
            raise PoisonEvent(f"unexpected event type {event.type!r}")
        # Not applied: a duplicate, or an older version arriving after a newer one (kept as it is).
        log.info("directory_recorded" if applied else "directory_skipped", event_id=str(event.id), **subject)

    return handle
