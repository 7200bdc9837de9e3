"""`billing.refund.requested` and `billing.refund.failed`, on the `ledger.refunds` queue."""

from __future__ import annotations

from aiohttp import web

from common.bus import EventHandler, PoisonEvent
from common.contracts import events
from common.contracts.events import Event, RefundFailed, RefundRequested
from common.runtime import DB
from services.ledger.refunds import usecases


def refunds_handler(app: web.Application) -> EventHandler:
    async def handle(event: Event) -> None:
        if event.type == events.REFUND_REQUESTED:
            await usecases.debit_refund(app[DB], event.id, event.payload(RefundRequested))
        elif event.type == events.REFUND_FAILED:
            await usecases.restore_refund(app[DB], event.id, event.payload(RefundFailed))
        else:
            raise PoisonEvent(f"the refunds queue does not handle {event.type}")

    return handle
