"""Builds the ledger service: routes, middlewares and the resources it holds."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from common.runtime import (
    broker_ctx,
    consumer_ctx,
    database_ctx,
    readiness_checks,
    relay_ctx,
)
from common.web import health_routes, internal_auth_middleware, observability_middleware
from services.ledger.consumers import purchase_paid_handler
from services.ledger.routes import routes
from services.ledger.settings import LedgerSettings

SERVICE = "ledger"
MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: LedgerSettings) -> web.Application:
    app = web.Application(
        middlewares=[
            observability_middleware(SERVICE),
            internal_auth_middleware(settings.internal_token_secret, audience=SERVICE),
        ]
    )
    app.add_routes(routes)
    app.add_routes(health_routes(readiness_checks(app)))
    app.cleanup_ctx.extend(
        [
            database_ctx(settings.database_url, MIGRATIONS, settings.db_pool_size),
            broker_ctx(settings.broker_url, settings.exchange),
            relay_ctx(settings.database_url),
            consumer_ctx("ledger.purchases", purchase_paid_handler),
        ]
    )
    return app
