"""Builds the reporting service: its features' routes, consumers and jobs, middlewares and resources;
nothing else."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from common.contracts import queues
from common.runtime import broker_ctx, consumer_ctx, database_ctx, periodic, readiness_checks, relay_ctx
from common.web import health_routes, internal_auth_middleware, observability_middleware
from services.reporting.directory.consumers import directory_handler
from services.reporting.entries.consumers import ledger_events_ctx
from services.reporting.logs.routes import routes as log_routes
from services.reporting.logs.store import planned_dsn
from services.reporting.maintenance import jobs
from services.reporting.reads import reads_ctx
from services.reporting.resources import EXPORT_SLOTS, SETTINGS, export_slots
from services.reporting.settings import ReportingSettings
from services.reporting.usage.routes import routes as usage_routes

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: ReportingSettings) -> web.Application:
    app = web.Application(
        middlewares=[
            observability_middleware("reporting"),
            internal_auth_middleware(settings.internal_token_secret, audience="reporting"),
        ]
    )
    app[SETTINGS] = settings
    app[EXPORT_SLOTS] = export_slots(settings)
    app.cleanup_ctx.extend(
        [
            database_ctx(planned_dsn(settings.database_url), MIGRATIONS, settings.db_pool_size),
            reads_ctx(planned_dsn(settings.read_database_url) if settings.read_database_url else None,
                      settings.db_pool_size),
            broker_ctx(settings.broker_url, settings.exchange),
            # Reporting publishes nothing yet; the relay keeps every service's shape the same, so an
            # event it starts to publish later needs no new wiring.
            relay_ctx(settings.database_url),
            ledger_events_ctx(settings.consumer_batch_size, settings.consumer_batch_window_seconds),
            consumer_ctx(queues.REPORTING_DIRECTORY, directory_handler),
            periodic("log-retention", jobs.purge_interval, jobs.purge_expired),
        ]
    )
    app.add_routes(log_routes)
    app.add_routes(usage_routes)
    app.add_routes(health_routes(readiness_checks(app)))
    return app
