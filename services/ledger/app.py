"""Builds the ledger service: routes, middlewares and the resources it holds."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import asyncpg
from aiohttp import web

from common.logs import get_logger
from common.runtime import (
    DB,
    background_ctx,
    broker_ctx,
    consumer_ctx,
    database_ctx,
    readiness_checks,
    relay_ctx,
)
from common.web import health_routes, internal_auth_middleware, observability_middleware
from services.ledger import holds, invariants
from services.ledger.consumers import directory_handler, purchase_paid_handler
from services.ledger.group_commit import group_commit_ctx
from services.ledger.refunds import refunds_handler
from services.ledger.routes import SETTINGS, routes
from services.ledger.settings import LedgerSettings
from services.ledger.spending import spending_handler

SERVICE = "ledger"
log = get_logger(__name__)
MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: LedgerSettings) -> web.Application:
    app = web.Application(
        middlewares=[
            observability_middleware(SERVICE),
            internal_auth_middleware(settings.internal_token_secret, audience=SERVICE),
        ]
    )
    app[SETTINGS] = settings
    app.add_routes(routes)
    app.add_routes(health_routes(readiness_checks(app)))
    app.cleanup_ctx.extend(
        [
            database_ctx(settings.database_url, MIGRATIONS, settings.db_pool_size),
            broker_ctx(settings.broker_url, settings.exchange),
            relay_ctx(settings.database_url),
            *([group_commit_ctx(settings.group_commit_max, settings.group_commit_writers)]
              if settings.group_commit else []),
            consumer_ctx("ledger.purchases", purchase_paid_handler),
            consumer_ctx("ledger.directory", directory_handler),
            consumer_ctx("ledger.refunds", refunds_handler),
            consumer_ctx("ledger.spending", spending_handler),
            background_ctx("hold-sweeper", _sweep_expired_holds(settings.hold_sweep_seconds)),
            background_ctx("invariant-check", _check_invariants(settings.invariant_check_seconds)),
        ]
    )
    return app


def _sweep_expired_holds(every: float) -> Callable[[web.Application], Coroutine[Any, Any, None]]:
    async def sweep(app: web.Application) -> None:
        while True:
            try:
                expired = await holds.expire_due(app[DB])
                if expired:
                    log.info("holds_expired", count=expired)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("hold_sweep_failed", error=str(exc))
            await asyncio.sleep(every)

    return sweep


def _check_invariants(every: float) -> Callable[[web.Application], Coroutine[Any, Any, None]]:
    """Keep the `ledger_invariant_violations` metric current, so an alert can fire on any breach."""

    async def check(app: web.Application) -> None:
        while True:
            try:
                async with app[DB].acquire() as conn:
                    breached = [r.name for r in await invariants.check(conn) if not r.held]
                if breached:
                    log.error("ledger_invariant_breached", checks=breached)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("invariant_check_failed", error=str(exc))
            await asyncio.sleep(every)

    return check
