"""The ledger's answers in a refund's saga: credits taken back, refused, or restored."""

from __future__ import annotations

from aiohttp import web

from common.bus import EventHandler, PoisonEvent
from common.contracts import events
from common.contracts.events import Event
from common.runtime import DB
from services.billing.refunds import usecases
from services.billing.resources import PROVIDER


def refund_outcomes_handler(app: web.Application) -> EventHandler:
    async def on_refund_outcome(event: Event) -> None:
        if event.type == events.REFUND_DEBITED:
            await usecases.credits_debited(app[DB], app[PROVIDER], event.payload(events.RefundDebited))
        elif event.type == events.REFUND_REJECTED:
            await usecases.credits_rejected(app[DB], event.payload(events.RefundRejected))
        elif event.type == events.REFUND_RESTORED:
            await usecases.credits_restored(app[DB], event.payload(events.RefundRestored))
        else:
            raise PoisonEvent(f"the refund outcomes queue does not handle {event.type}")

    return on_refund_outcome
