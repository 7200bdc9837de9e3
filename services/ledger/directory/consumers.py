"""`gateway.directory.tenant_changed`, `gateway.directory.user_changed` and
`gateway.tenant.credit_mode_changed`, on the `ledger.directory` queue."""

from __future__ import annotations

from aiohttp import web

from common.bus import EventHandler, PoisonEvent
from common.contracts import events
from common.contracts.events import CreditModeChanged, Event, TenantChanged, UserChanged
from common.runtime import DB
from services.ledger.directory import usecases


def directory_handler(app: web.Application) -> EventHandler:
    async def handle(event: Event) -> None:
        pool = app[DB]
        if event.type == events.TENANT_CHANGED:
            await usecases.tenant_changed(pool, event.id, event.payload(TenantChanged))
        elif event.type == events.USER_CHANGED:
            await usecases.user_changed(pool, event.id, event.payload(UserChanged))
        elif event.type == events.CREDIT_MODE_CHANGED:
            await usecases.credit_mode_changed(pool, event.id, event.payload(CreditModeChanged))
        else:
            raise PoisonEvent(f"the directory queue does not handle {event.type}")

    return handle
