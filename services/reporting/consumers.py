"""Event handlers: decode, then hand the event to its use case (which checks the inbox)."""

from __future__ import annotations

from aiohttp import web

from common.bus import EventHandler, PoisonEvent
from common.events import TRANSACTION_POSTED, Event, TransactionPosted
from common.logs import get_logger
from common.runtime import DB
from services.reporting import usecases
from services.reporting.domain import UnreadablePosting

log = get_logger(__name__)


def ledger_events_handler(app: web.Application) -> EventHandler:
    async def handle(event: Event) -> None:
        if event.type != TRANSACTION_POSTED:
            # The queue is bound to ledger.transaction.posted only; anything else was misrouted, and
            # parking it keeps it visible instead of silently acknowledging it away.
            raise PoisonEvent(f"unexpected event type {event.type!r}")
        posted = event.payload(TransactionPosted)  # a ValidationError dead-letters the event
        try:
            applied = await usecases.record_transaction(app[DB], event.id, posted)
        except UnreadablePosting as exc:
            raise PoisonEvent(str(exc)) from exc
        log.info(
            "ledger_transaction_recorded" if applied else "ledger_transaction_duplicate",
            event_id=str(event.id),
            transaction_id=str(posted.transaction_id),
            seq=posted.seq,
        )

    return handle
