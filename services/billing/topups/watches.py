"""Billing announces to the ledger which accounts it tops up automatically (`billing.topup.watch_changed`),
in the transaction that switches auto top-up on or off. The ledger marks the transactions that touch
such an account, and billing's queue receives only those and purchases: not every transfer of the system.

An account counts as watched while its auto top-up is not off: a suspended one is watched still (billing
then decides not to top it up, as it always did), so a suspension needs no announcement."""

from __future__ import annotations

import asyncpg
from aiohttp import web

from common.contracts import events
from common.contracts.events import Event, TopUpWatchChanged
from common.logs import get_logger
from common.outbox import enqueue
from common.runtime import DB
from services.billing.purchases.domain import SOURCE
from services.billing.topups import store
from services.billing.topups.domain import AutoTopUp

log = get_logger(__name__)


def is_watched(config: AutoTopUp) -> bool:
    return config.status != "off"


async def announce(conn: asyncpg.Connection, config: AutoTopUp) -> None:
    """Inside the transaction that changed the account's settings (its row is locked by that change)."""
    version = await store.next_watch_version(conn, config.account_id)
    change = TopUpWatchChanged(tenant_id=config.tenant_id, account_id=config.account_id,
                               account_code=config.account_code, watched=is_watched(config), version=version)
    subject = events.account_subject(config.tenant_id, config.account_id)
    await enqueue(conn, Event.new(type=events.TOP_UP_WATCH_CHANGED, source=SOURCE, subject=subject, data=change))


async def announce_unannounced(app: web.Application, batch: int = 500) -> int:
    """Settings never announced (those from before billing announced them) are announced now: once, by
    whichever billing process gets there first (SKIP LOCKED), in batches."""
    total = 0
    while True:
        async with app[DB].acquire() as conn, conn.transaction():
            configs = await store.lock_unannounced(conn, batch)
            for config in configs:
                await announce(conn, config)
        total += len(configs)
        if len(configs) < batch:
            break
    if total:
        log.info("top_up_watches_announced", accounts=total)
    return total
