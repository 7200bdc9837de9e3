"""`messaging.message.settled` and `messaging.message.undelivered`, on the `ledger.spending` queue."""

from __future__ import annotations

from aiohttp import web

from common.bus import EventHandler, PoisonEvent
from common.contracts import events
from common.contracts.events import Event, MessageSettled, MessageUndelivered
from common.runtime import DB
from services.ledger.spending import usecases


def spending_handler(app: web.Application) -> EventHandler:
    async def handle(event: Event) -> None:
        if event.type == events.MESSAGE_SETTLED:
            await usecases.settle_message(app[DB], event.id, event.payload(MessageSettled))
        elif event.type == events.MESSAGE_UNDELIVERED:
            await usecases.give_back_undelivered(app[DB], event.id, event.payload(MessageUndelivered))
        else:
            raise PoisonEvent(f"the spending queue does not handle {event.type}")

    return handle
