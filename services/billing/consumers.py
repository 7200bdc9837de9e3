"""Events billing consumes: the ledger's postings, to learn when a paid purchase has been credited."""

from __future__ import annotations

from aiohttp import web

from common import events
from common.bus import EventHandler, PoisonEvent
from common.events import Event
from common.runtime import DB
from services.billing import domain, usecases

LEDGER_EVENTS_QUEUE = "billing.ledger-events"


def ledger_events_handler(app: web.Application) -> EventHandler:
    async def on_ledger_event(event: Event) -> None:
        if event.type != events.TRANSACTION_POSTED:
            return
        posted = event.payload(events.TransactionPosted)
        try:
            purchase_id = domain.purchase_credited_by(posted.kind, posted.reference)
        except ValueError as exc:
            raise PoisonEvent(str(exc)) from exc
        if purchase_id is not None:
            await usecases.record_credited(app[DB], event.id, posted.tenant_id, purchase_id, posted.seq)

    return on_ledger_event
