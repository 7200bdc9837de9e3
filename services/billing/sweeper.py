"""Drives on what a crash left half-done: a top-up recorded but not charged, a refund whose credits
the ledger took but whose money has not gone back. Each step is idempotent at the provider (keyed by
our ids), so driving one that is merely slow is harmless. `app.py` runs it every BILLING_SWEEP_SECONDS,
the first round one interval after start."""

from __future__ import annotations

from aiohttp import web

from common.logs import get_logger
from common.runtime import DB
from services.billing.refunds import usecases as refunds
from services.billing.resources import PROVIDER, SETTINGS, seller_of
from services.billing.topups import usecases as top_ups

log = get_logger(__name__)


async def sweep_once(app: web.Application) -> None:
    settings, pool, provider = app[SETTINGS], app[DB], app[PROVIDER]
    resumed = await top_ups.resume_stalled(pool, provider, seller_of(settings), settings.sweep_seconds)
    settled = await refunds.settle_stalled(pool, provider, settings.sweep_seconds)
    if resumed or settled:
        log.info("billing_swept", top_ups=resumed, refunds=settled)


def sweep_interval(app: web.Application) -> float:
    return app[SETTINGS].sweep_seconds
