"""Builds the reporting service: routes, middlewares, cleanup contexts; nothing else."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from common.runtime import broker_ctx, consumer_ctx, database_ctx, readiness_checks, relay_ctx
from common.web import health_routes, internal_auth_middleware, observability_middleware
from services.reporting.consumers import ledger_events_handler
from services.reporting.routes import CONSISTENCY_WAIT_SECONDS, routes
from services.reporting.settings import ReportingSettings
from services.reporting.usecases import LEDGER_EVENTS_CONSUMER

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: ReportingSettings) -> web.Application:
    app = web.Application(
        middlewares=[
            observability_middleware("reporting"),
            internal_auth_middleware(settings.internal_token_secret, audience="reporting"),
        ]
    )
    app[CONSISTENCY_WAIT_SECONDS] = settings.consistency_wait_seconds
    app.cleanup_ctx.extend(
        [
            database_ctx(settings.database_url, MIGRATIONS, settings.db_pool_size),
            broker_ctx(settings.broker_url, settings.exchange),
            # Reporting publishes nothing yet; the relay keeps every service's shape the same, so an
            # event it starts to publish later needs no new wiring.
            relay_ctx(settings.database_url),
            consumer_ctx(LEDGER_EVENTS_CONSUMER, ledger_events_handler),
        ]
    )
    app.add_routes(routes)
    app.add_routes(health_routes(readiness_checks(app)))
    return app
