"""The retention purge as a periodic job (run by common.runtime.periodic): settings in, a log line out."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from common.logs import get_logger
from common.runtime import DB
from services.reporting.maintenance import usecases
from services.reporting.resources import SETTINGS

log = get_logger(__name__)


async def purge_expired(app: web.Application) -> None:
    settings = app[SETTINGS]
    purged = await usecases.purge_expired(
        app[DB], settings.log_retention_days, settings.purge_batch_size, datetime.now(UTC)
    )
    if purged.entries or purged.applied:
        log.info("log_purged", entries=purged.entries, applied=purged.applied)


def purge_interval(app: web.Application) -> float:
    return app[SETTINGS].purge_interval_seconds
