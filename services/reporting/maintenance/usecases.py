"""The retention purge, and the operators' commands: reconcile the log against the ledger, and rebuild
it from the ledger's journal.

Rebuild replays the journal through the same idempotent insert the consumer uses, in place, rather than
building a new table and swapping it in. Readers keep reading the live table throughout and only ever
see rows appear (or a drifted row corrected); the consumer keeps running beside it, and because both
derive the same row ids from (transaction, account), whichever writes a row first, the other finds it.
A swap would need the consumer paused, or the events that arrived during the build replayed into the
new table before the swap, to not lose them; and until the swap the new table helps nobody. What the
in-place replay cannot do is remove a row the journal does not have: none should exist (every row
comes from a ledger transaction), and reconcile would show the balance it distorts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta

import asyncpg

from common.contracts.events import TransactionPosted
from common.logs import get_logger
from services.reporting.entries import domain as entries
from services.reporting.entries import store as entries_store
from services.reporting.entries.domain import LogEntry
from services.reporting.maintenance import domain, store
from services.reporting.maintenance.domain import Purged, Rebuilt, Reconciliation
from services.reporting.maintenance.ledger_client import LedgerClient

log = get_logger(__name__)


async def purge_expired(pool: asyncpg.Pool, retention_days: int, batch: int, now: datetime) -> Purged:
    """Delete what is older than the retention window, `batch` rows per statement.

    Each statement is its own short transaction: a purge of millions of rows never holds locks, a
    snapshot or a huge WAL burst for long, and the consumer and readers run between batches.
    """
    cutoff = now - timedelta(days=retention_days)
    counts = []
    tables: tuple[store.PurgedTable, ...] = ("log_entries", "applied_transactions")
    for table in tables:
        total = 0
        while True:
            async with pool.acquire() as conn:
                deleted = await store.purge_batch(conn, table, cutoff, batch)
            total += deleted
            if deleted < batch:
                break
            await asyncio.sleep(0)  # let waiting requests have the pool between batches
        counts.append(total)
    return Purged(entries=counts[0], applied=counts[1])


async def reconcile(pool: asyncpg.Pool, ledger: LedgerClient) -> Reconciliation:
    """Compare, per account, the balance after the log's latest row with the ledger's balance.

    Meant for a quiet moment (the consumer caught up): a transaction the ledger committed but whose
    event is still on its way shows as a difference until it arrives, so a difference seen once
    while busy is worth a second run before a rebuild.
    """
    async with pool.acquire() as conn:
        tenants = await store.tenants_in_log(conn)
    compared, found = 0, []
    for tenant_id in tenants:
        async with pool.acquire() as conn:
            logged = await store.latest_balances(conn, tenant_id)
        balances = await ledger.balances(tenant_id, sorted(logged))
        compared += len(logged)
        found += domain.differences(tenant_id, logged, balances)
    return Reconciliation(compared, found)


async def rebuild(
    pool: asyncpg.Pool, ledger: LedgerClient, retention_days: int, now: datetime, page_size: int
) -> Rebuilt:
    """Replay the ledger's whole journal into the log, one journal page per transaction."""
    keep_since = now - timedelta(days=retention_days)
    after_seq, transactions, replayed = 0, 0, 0
    while True:
        page = await ledger.journal_page(after_seq, page_size)
        if page.transactions:
            replayed += await replay_journal(pool, page.transactions, keep_since)
            transactions += len(page.transactions)
            after_seq = max(after_seq, page.transactions[-1].seq)
            log.info("rebuild_progress", transactions=transactions, last_seq=after_seq)
        if page.next_after_seq is None or not page.transactions:
            return Rebuilt(transactions, replayed, after_seq)
        after_seq = max(after_seq, page.next_after_seq)


async def replay_journal(pool: asyncpg.Pool, journal: Sequence[TransactionPosted], keep_since: datetime) -> int:
    """Make the log say what these journal transactions say (a rebuild); answers the rows replayed.

    The same rows the consumer writes, by the same deterministic ids, so a replay can run beside the
    live consumer: whichever writes a row first, the other finds it. Rows that drifted are repaired.
    Rows the retention purge would delete at once are not written back.
    """
    rows: list[LogEntry] = []
    readable: list[TransactionPosted] = []
    for posted in journal:
        try:
            rows += [e for e in entries.log_entries_of(posted) if e.occurred_at >= keep_since]
        except entries.UnreadablePosting as exc:
            # What the consumer would dead-letter: skipped and named, never half-applied.
            log.error("journal_transaction_unreadable", seq=posted.seq, error=str(exc))
            continue
        readable.append(posted)
    async with pool.acquire() as conn, conn.transaction():
        await entries_store.insert_entries(conn, rows, repair=True)
        await entries_store.mark_all_applied(conn, [(p.seq, p.transaction_id, p.tenant_id) for p in readable])
    return len(rows)
