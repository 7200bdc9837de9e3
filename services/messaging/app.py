"""Builds the messaging service: routes, middlewares, cleanup contexts; nothing else."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import asyncpg
from aiohttp import web

from common.logs import get_logger
from common.runtime import (
    DB,
    CleanupCtx,
    background_ctx,
    broker_ctx,
    consumer_ctx,
    database_ctx,
    readiness_checks,
    relay_ctx,
)
from common.web import health_routes, internal_auth_middleware, observability_middleware
from services.messaging import usecases
from services.messaging.consumers import SENDER, outgoing_handler
from services.messaging.domain import Receipt
from services.messaging.routes import SETTINGS, routes
from services.messaging.sender import MessageSender
from services.messaging.settings import MessagingSettings
from services.messaging.smpp import CarrierLink

SERVICE = "messaging"
log = get_logger(__name__)
MIGRATIONS = Path(__file__).parent / "migrations"
LINK = web.AppKey("carrier-link", CarrierLink)


def create_app(settings: MessagingSettings) -> web.Application:
    app = web.Application(
        middlewares=[
            observability_middleware(SERVICE),
            internal_auth_middleware(settings.internal_token_secret, audience=SERVICE),
        ]
    )
    app[SETTINGS] = settings
    app.add_routes(routes)
    # Ready without the carrier: messages are accepted and wait in the queue until it is back.
    app.add_routes(health_routes(readiness_checks(app)))
    app.cleanup_ctx.extend(
        [
            database_ctx(settings.database_url, MIGRATIONS, settings.db_pool_size),
            broker_ctx(settings.broker_url, settings.exchange),
            relay_ctx(settings.database_url),
            carrier_ctx(settings),
            consumer_ctx("messaging.outgoing", outgoing_handler),
            background_ctx("expiry-sweeper", _expire_overdue(settings)),
        ]
    )
    return app


def carrier_ctx(settings: MessagingSettings) -> CleanupCtx:
    """The SMPP session, bound (and bound again) in the background, and the sender that uses it."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        pool = app[DB]

        async def on_receipt(receipt: Receipt) -> None:
            await usecases.record_receipt(pool, receipt)

        app[LINK] = CarrierLink(settings, on_receipt)
        app[SENDER] = MessageSender(pool, app[LINK], settings)
        task = asyncio.create_task(app[LINK].run(), name="smpp-link")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return ctx


def _expire_overdue(settings: MessagingSettings) -> Callable[[web.Application], Coroutine[Any, Any, None]]:
    # Half the sender's margin: a segment submitted just before the sender's own cut-off still has
    # time for its answer before the sweeper gives up on the part.
    margin = settings.hold_margin_seconds / 2

    async def sweep(app: web.Application) -> None:
        while True:
            try:
                await usecases.expire_overdue(app[DB], margin)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("expiry_sweep_failed", error=str(exc))
            await asyncio.sleep(settings.expiry_sweep_seconds)

    return sweep
