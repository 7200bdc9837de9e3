"""Builds the reporting service: routes, middlewares, cleanup contexts; nothing else."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from common.logs import get_logger
from common.runtime import (
    BROKER,
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
from services.reporting import store, usecases
from services.reporting.consumers import directory_handler, ledger_events_handler
from services.reporting.routes import CONSISTENCY_WAIT_SECONDS, EXPORT_SLOTS, REPORT_MAX_ROWS, routes
from services.reporting.settings import ReportingSettings
from services.reporting.usecases import DIRECTORY_CONSUMER, LEDGER_EVENTS_CONSUMER

MIGRATIONS = Path(__file__).parent / "migrations"

log = get_logger(__name__)


def create_app(settings: ReportingSettings) -> web.Application:
    app = web.Application(
        middlewares=[
            observability_middleware("reporting"),
            internal_auth_middleware(settings.internal_token_secret, audience="reporting"),
        ]
    )
    app[CONSISTENCY_WAIT_SECONDS] = settings.consistency_wait_seconds
    app[REPORT_MAX_ROWS] = settings.report_max_rows
    app[EXPORT_SLOTS] = asyncio.Semaphore(max(1, settings.db_pool_size // 2))
    app.cleanup_ctx.extend(
        [
            database_ctx(store.planned_dsn(settings.database_url), MIGRATIONS, settings.db_pool_size),
            broker_ctx(settings.broker_url, settings.exchange),
            # Reporting publishes nothing yet; the relay keeps every service's shape the same, so an
            # event it starts to publish later needs no new wiring.
            relay_ctx(settings.database_url),
            _batch_consumer_ctx(settings),
            consumer_ctx(DIRECTORY_CONSUMER, directory_handler),
            background_ctx("log-retention", _purge_periodically(settings)),
        ]
    )
    app.add_routes(routes)
    app.add_routes(health_routes(readiness_checks(app)))
    return app


def _batch_consumer_ctx(settings: ReportingSettings) -> CleanupCtx:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        handler = ledger_events_handler(app, settings.consumer_batch_size, settings.consumer_batch_window_seconds)
        # Twice a batch: the next one arrives while one is applied.
        await app[BROKER].consume_batches(LEDGER_EVENTS_CONSUMER, handler, prefetch=2 * settings.consumer_batch_size)
        yield  # the broker's own clean-up stops the batch worker before it closes the connection

    return ctx


def _purge_periodically(settings: ReportingSettings) -> Callable[[web.Application], Coroutine[Any, Any, None]]:
    async def purge(app: web.Application) -> None:
        while True:
            try:
                purged = await usecases.purge_expired(
                    app[DB], settings.log_retention_days, settings.purge_batch_size, datetime.now(UTC)
                )
                if purged.entries or purged.applied:
                    log.info("log_purged", entries=purged.entries, applied=purged.applied)
            except asyncio.CancelledError:
                raise
            except Exception:
                # A database restart must not end the purge for the life of the process: try next time.
                log.exception("log_purge_failed")
            await asyncio.sleep(settings.purge_interval_seconds)

    return purge
