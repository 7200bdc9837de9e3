"""Events billing consumes: the ledger's postings (a purchase credited, a balance that calls for an
auto top-up), the ledger's answers in a refund's saga, and the directory's names."""

from __future__ import annotations

from aiohttp import web

from common import events
from common.bus import EventHandler, PoisonEvent
from common.events import Event
from common.runtime import DB
from services.billing import domain, profiles, refunds, topups, usecases
from services.billing.routes import PROVIDER, SETTINGS, seller_of

LEDGER_EVENTS_QUEUE = "billing.ledger-events"
REFUND_OUTCOMES_QUEUE = "billing.refund-outcomes"
DIRECTORY_QUEUE = "billing.directory"


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
        await topups.consider(app[DB], app[PROVIDER], posted, seller_of(settings), settings.invoice_timezone)

    return on_ledger_event


def refund_outcomes_handler(app: web.Application) -> EventHandler:
    async def on_refund_outcome(event: Event) -> None:
        if event.type == events.REFUND_DEBITED:
            await refunds.credits_debited(app[DB], app[PROVIDER], event.payload(events.RefundDebited))
        elif event.type == events.REFUND_REJECTED:
            await refunds.credits_rejected(app[DB], event.payload(events.RefundRejected))
        elif event.type == events.REFUND_RESTORED:
            await refunds.credits_restored(app[DB], event.payload(events.RefundRestored))
        else:
            raise PoisonEvent(f"the refund outcomes queue does not handle {event.type}")

    return on_refund_outcome


def directory_handler(app: web.Application) -> EventHandler:
    async def on_directory_event(event: Event) -> None:
        if event.type == events.USER_CHANGED:
            await profiles.user_changed(app[DB], event.id, event.payload(events.UserChanged))

    return on_directory_event
