"""`billing.topup.watch_changed`, on the `ledger.top-up-watches` queue."""

from __future__ import annotations

from aiohttp import web

from common.bus import EventHandler, PoisonEvent
from common.contracts import events
from common.contracts.events import Event, TopUpWatchChanged
from common.runtime import DB
from services.ledger.top_ups import usecases


def watches_handler(app: web.Application) -> EventHandler:
    async def handle(event: Event) -> None:
        if event.type != events.TOP_UP_WATCH_CHANGED:
            raise PoisonEvent(f"the top-up watches queue does not handle {event.type}")
        await usecases.watch_changed(app[DB], event.payload(TopUpWatchChanged))

    return handle
