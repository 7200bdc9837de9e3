"""The expiry sweeper: a periodic job (see `app.py`) expiring the credits of lapsed lots."""

from __future__ import annotations

from aiohttp import web

from common.logs import get_logger
from common.runtime import DB
from services.ledger.lots import usecases

log = get_logger(__name__)


async def expire_lapsed_lots(app: web.Application) -> None:
    expired = await usecases.expire_lapsed(app[DB])
    if expired:
        log.info("lots_expired", count=expired)
