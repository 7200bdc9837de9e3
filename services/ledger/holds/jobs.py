"""The hold sweeper: a periodic job (see `app.py`) voiding the holds past their expiry."""

from __future__ import annotations

from aiohttp import web

from common.logs import get_logger
from common.runtime import DB
from services.ledger.holds import usecases

log = get_logger(__name__)


async def sweep_expired_holds(app: web.Application) -> None:
    expired = await usecases.expire_due(app[DB])
    if expired:
        log.info("holds_expired", count=expired)
