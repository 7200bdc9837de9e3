"""The ledger's postings as billing reads them: a purchase credited, and a balance that calls for an
auto top-up."""

from __future__ import annotations

from aiohttp import web

from common.bus import EventHandler, PoisonEvent
from common.contracts import events
from common.contracts.events import Event
from common.runtime import DB
from services.billing.purchases import domain, usecases
from services.billing.resources import PROVIDER, SETTINGS, seller_of
from services.billing.topups import usecases as top_ups


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
        settings = app[SETTINGS]
        await top_ups.consider(app[DB], app[PROVIDER], posted, seller_of(settings), settings.invoice_timezone)

    return on_ledger_event
