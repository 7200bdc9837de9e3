"""Drives on what a crash left half-done: a top-up recorded but not charged, a refund whose credits
the ledger took but whose money has not gone back. Each step is idempotent at the provider (keyed by
our ids), so driving one that is merely slow is harmless."""

from __future__ import annotations

import asyncio

import asyncpg
from aiohttp import web

from common.logs import get_logger
from common.problems import DependencyUnavailable
from common.runtime import DB
from services.billing import refund_store, refunds, topups
from services.billing.routes import PROVIDER, SETTINGS, seller_of

log = get_logger(__name__)


async def sweep_once(app: web.Application) -> None:
    settings, pool, provider = app[SETTINGS], app[DB], app[PROVIDER]
    resumed = await topups.resume_stalled(pool, provider, seller_of(settings), settings.sweep_seconds)
    async with pool.acquire() as conn:
        stalled = await refund_store.stalled(conn, settings.sweep_seconds)
    for refund_id in stalled:
        await refunds.settle(pool, provider, refund_id)
    if resumed or stalled:
        log.info("billing_swept", top_ups=resumed, refunds=len(stalled))


async def sweep_forever(app: web.Application) -> None:
    while True:
        await asyncio.sleep(app[SETTINGS].sweep_seconds)
        try:
            await sweep_once(app)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, DependencyUnavailable) as exc:
            log.warning("billing_sweep_failed", error=str(exc))
        except Exception:
            # The loop must outlive a bug: a dead sweeper leaves refunds half-done.
            log.exception("billing_sweep_crashed")
