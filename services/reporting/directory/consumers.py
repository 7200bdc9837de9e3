"""The gateway's directory events: decode, then hand them to their use case (which checks the inbox)."""

from __future__ import annotations

from aiohttp import web

from common.bus import EventHandler, PoisonEvent
from common.contracts.events import TENANT_CHANGED, USER_CHANGED, Event, TenantChanged, UserChanged
from common.logs import get_logger
from common.runtime import DB
from services.reporting.directory import usecases

log = get_logger(__name__)


def directory_handler(app: web.Application) -> EventHandler:
    """Names and time zones for the CSV and the report, copied from the gateway's directory."""

    async def handle(event: Event) -> None:
        if event.type == TENANT_CHANGED:
            tenant = event.payload(TenantChanged)
            applied = await usecases.record_tenant(app[DB], event.id, tenant)
            subject = {"tenant_id": str(tenant.tenant_id), "version": tenant.version}
        elif event.type == USER_CHANGED:
            user = event.payload(UserChanged)
            applied = await usecases.record_user(app[DB], event.id, user)
            subject = {"user_id": str(user.user_id), "version": user.version}
        else:
            raise PoisonEvent(f"unexpected event type {event.type!r}")
        # Not applied: a duplicate, or an older version arriving after a newer one (kept as it is).
        log.info("directory_recorded" if applied else "directory_skipped", event_id=str(event.id), **subject)

    return handle
