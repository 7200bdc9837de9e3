"""Event handlers: decode, then hand the event to its use case (which checks the inbox)."""

from __future__ import annotations

from aiohttp import web

from common.bus import EventHandler, PoisonEvent
from common.events import (
    TENANT_CHANGED,
    TRANSACTION_POSTED,
    USER_CHANGED,
    Event,
    TenantChanged,
    TransactionPosted,
    UserChanged,
)
from common.logs import get_logger
from common.runtime import DB
from services.reporting import usecases
from services.reporting.domain import UnreadablePosting

log = get_logger(__name__)


def ledger_events_handler(app: web.Application) -> EventHandler:
    async def handle(event: Event) -> None:
        if event.type != TRANSACTION_POSTED:
            # The queue is bound to ledger.transaction.posted only; anything else was misrouted, and
            # parking it keeps it visible instead of silently acknowledging it away.
            raise PoisonEvent(f"unexpected event type {event.type!r}")
        posted = event.payload(TransactionPosted)  # a ValidationError dead-letters the event
        try:
            applied = await usecases.record_transaction(app[DB], event.id, posted)
        except UnreadablePosting as exc:
            raise PoisonEvent(str(exc)) from exc
        log.info(
            "ledger_transaction_recorded" if applied else "ledger_transaction_duplicate",
            event_id=str(event.id),
            transaction_id=str(posted.transaction_id),
            seq=posted.seq,
        )

    return handle


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
