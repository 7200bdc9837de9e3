"""The reporting service's actions, one transaction each."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg

from common.events import TransactionPosted
from common.inbox import first_delivery
from services.reporting import domain, store
from services.reporting.domain import LogFilter, LogPage

LEDGER_EVENTS_CONSUMER = "reporting.ledger-events"

# Polling, not LISTEN: a check is one primary-key lookup, the wait is bounded by a couple of seconds,
# and it needs no dedicated connection per process. The first checks are close together because the
# event usually lands within milliseconds of the write that produced the token.
_FIRST_POLL_SECONDS = 0.01
_MAX_POLL_SECONDS = 0.1


async def record_transaction(pool: asyncpg.Pool, event_id: uuid.UUID, posted: TransactionPosted) -> bool:
    """Add a posted ledger transaction to the log; False when this event was already applied.

    The inbox row and the entries commit together. A different event for the same transaction (the
    ledger re-announcing it) passes the inbox but finds its entries already there and adds nothing.
    """
    entries = domain.log_entries_of(posted)  # before any I/O: an unreadable event fails fast
    async with pool.acquire() as conn, conn.transaction():
        if not await first_delivery(conn, LEDGER_EVENTS_CONSUMER, event_id):
            return False
        await store.insert_entries(conn, entries)
        await store.mark_applied(conn, posted.seq, posted.transaction_id, posted.tenant_id)
    return True


async def read_log(
    pool: asyncpg.Pool, log_filter: LogFilter, consistency_token: int | None, wait_seconds: float
) -> LogPage:
    """A page of the log, after waiting (bounded) for the ledger transaction the caller just made."""
    caught_up = True
    if consistency_token is not None:
        caught_up = await wait_until_applied(pool, consistency_token, wait_seconds)
    async with pool.acquire() as conn:
        # One statement, so one snapshot: the page is consistent without an explicit transaction.
        rows = await store.log_page(conn, log_filter, rows=log_filter.limit + 1)
    return domain.page_of(rows, log_filter.limit, stale=not caught_up)


async def wait_until_applied(pool: asyncpg.Pool, seq: int, wait_seconds: float) -> bool:
    """True once ledger transaction `seq` is in the log; False if it is not within `wait_seconds`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_seconds
    pause = _FIRST_POLL_SECONDS
    while True:
        # The connection goes back to the pool between checks: waiting readers must not starve the
        # consumer that is about to write what they wait for.
        async with pool.acquire() as conn:
            if await store.is_applied(conn, seq):
                return True
        remaining = deadline - loop.time()
        if remaining <= 0:
            return False
        await asyncio.sleep(min(pause, remaining))
        pause = min(pause * 2, _MAX_POLL_SECONDS)
