"""Billing switched an account's auto top-up on or off."""

from __future__ import annotations

import asyncpg

from common.contracts.events import TopUpWatchChanged
from common.logs import get_logger
from services.ledger.top_ups import store

log = get_logger(__name__)


async def watch_changed(pool: asyncpg.Pool, change: TopUpWatchChanged) -> None:
    # No inbox: the version makes the write idempotent and immune to order, which an inbox would not.
    async with pool.acquire() as conn:
        changed = await store.record_watch(conn, change)
    log.info("top_up_watch_changed" if changed else "top_up_watch_unchanged", account_id=str(change.account_id),
             watched=change.watched, version=change.version)
