"""The directory's events billing follows: the names its invoices print, and each tenant's name, from
which its tax documents' number prefix is made."""

from __future__ import annotations

from aiohttp import web

from common.bus import EventHandler
from common.contracts import events
from common.contracts.events import Event
from common.runtime import DB
from services.billing.profiles import usecases


def directory_handler(app: web.Application) -> EventHandler:
    async def on_directory_event(event: Event) -> None:
        if event.type == events.USER_CHANGED:
            await usecases.user_changed(app[DB], event.id, event.payload(events.UserChanged))
        elif event.type == events.TENANT_CHANGED:
            await usecases.tenant_changed(app[DB], event.id, event.payload(events.TenantChanged))

    return on_directory_event
