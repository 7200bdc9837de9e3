"""The reporting service's actions, one transaction each."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from common.accounts import user_code
from common.events import TenantChanged, TransactionPosted, UserChanged
from common.identity import Identity
from common.inbox import first_deliveries, first_delivery
from common.logs import get_logger
from common.problems import RuleBroken
from services.reporting import domain, report, store
from services.reporting.domain import LogEntry, LogFilter, LogPage, Selection
from services.reporting.labels import FALLBACK_TIMEZONE, Directory

log = get_logger(__name__)

LEDGER_EVENTS_CONSUMER = "reporting.ledger-events"
DIRECTORY_CONSUMER = "reporting.directory"

# Polling, not LISTEN: a check is one primary-key lookup, the wait is bounded by a couple of seconds,
# and it needs no dedicated connection per process. The first checks are close together because the
# event usually lands within milliseconds of the write that produced the token.
_FIRST_POLL_SECONDS = 0.01
_MAX_POLL_SECONDS = 0.1
# Rows fetched from the export cursor and written to the client at a time: big enough that round
# trips and writes do not dominate, small enough that memory stays flat (a chunk is about a megabyte
# of CSV, and two are held: the one being written and the next being read).
EXPORT_CHUNK_ROWS = 5000


class ReportTooLarge(RuleBroken):
    slug = "report-too-large"


@dataclass(frozen=True)
class ArrivedTransaction:
    """A `ledger.transaction.posted` event, with the log entries it adds worked out before any I/O."""

    event_id: uuid.UUID
    posted: TransactionPosted
    entries: list[LogEntry]


def arrived(event_id: uuid.UUID, posted: TransactionPosted) -> ArrivedTransaction:
    """Raises UnreadablePosting for a transaction no log can show: that one event fails, alone."""
    return ArrivedTransaction(event_id, posted, domain.log_entries_of(posted))


async def record_transactions(pool: asyncpg.Pool, batch: Sequence[ArrivedTransaction]) -> list[ArrivedTransaction]:
    """Add posted ledger transactions to the log in one transaction; answers those not applied before.

    The inbox rows and the entries commit together, all or nothing. An event already in the inbox, or
    twice in the batch, is applied once. A different event for the same transaction (the ledger
    re-announcing it) passes the inbox but finds its entries already there and adds nothing.
    """
    async with pool.acquire() as conn, conn.transaction():
        fresh = await first_deliveries(conn, LEDGER_EVENTS_CONSUMER, [a.event_id for a in batch])
        # Keyed by event id: two copies of one event in a batch (a redelivery) are the same event.
        applied = list({a.event_id: a for a in batch if a.event_id in fresh}.values())
        await store.insert_entries(conn, [entry for a in applied for entry in a.entries])
        await store.mark_all_applied(
            conn, [(a.posted.seq, a.posted.transaction_id, a.posted.tenant_id) for a in applied]
        )
    return applied


async def record_transaction(pool: asyncpg.Pool, event_id: uuid.UUID, posted: TransactionPosted) -> bool:
    """One event on its own (see record_transactions); False when it was already applied."""
    return bool(await record_transactions(pool, [arrived(event_id, posted)]))


async def replay_journal(pool: asyncpg.Pool, journal: Sequence[TransactionPosted], keep_since: datetime) -> int:
    """Make the log say what these journal transactions say (a rebuild); answers the rows replayed.

    The same rows the consumer writes, by the same deterministic ids, so a replay can run beside the
    live consumer: whichever writes a row first, the other finds it. Rows that drifted are repaired.
    Rows the retention purge would delete at once are not written back.
    """
    entries: list[LogEntry] = []
    readable: list[TransactionPosted] = []
    for posted in journal:
        try:
            entries += [e for e in domain.log_entries_of(posted) if e.occurred_at >= keep_since]
        except domain.UnreadablePosting as exc:
            # What the consumer would dead-letter: skipped and named, never half-applied.
            log.error("journal_transaction_unreadable", seq=posted.seq, error=str(exc))
            continue
        readable.append(posted)
    async with pool.acquire() as conn, conn.transaction():
        await store.insert_entries(conn, entries, repair=True)
        await store.mark_all_applied(conn, [(p.seq, p.transaction_id, p.tenant_id) for p in readable])
    return len(entries)


async def record_tenant(pool: asyncpg.Pool, event_id: uuid.UUID, change: TenantChanged) -> bool:
    """Copy a tenant's name and time zone; False for a duplicate or a version older than the one held."""
    async with pool.acquire() as conn, conn.transaction():
        if not await first_delivery(conn, DIRECTORY_CONSUMER, event_id):
            return False
        return await store.upsert_tenant(conn, change.tenant_id, change.name, change.timezone, change.version)


async def record_user(pool: asyncpg.Pool, event_id: uuid.UUID, change: UserChanged) -> bool:
    """Copy a person's name; False for a duplicate or a version older than the one held."""
    async with pool.acquire() as conn, conn.transaction():
        if not await first_delivery(conn, DIRECTORY_CONSUMER, event_id):
            return False
        return await store.upsert_user(conn, change.user_id, change.tenant_id, change.name, change.version)


async def read_log(
    pool: asyncpg.Pool, log_filter: LogFilter, consistency_token: int | None, wait_seconds: float
) -> LogPage:
    """A page of the log, after waiting (bounded) for the ledger transaction the caller just made."""
    caught_up = await _caught_up(pool, consistency_token, wait_seconds)
    async with pool.acquire() as conn:
        # One statement, so one snapshot: the page is consistent without an explicit transaction.
        rows = await store.log_page(conn, log_filter, rows=log_filter.limit + 1)
    return domain.page_of(rows, log_filter.limit, stale=not caught_up)


@dataclass(frozen=True)
class LogExport:
    directory: Directory
    # Newest first, EXPORT_CHUNK_ROWS at a time, each row a csv_export.ExportRow.
    chunks: AsyncIterator[list[asyncpg.Record]]
    stale: bool


@contextlib.asynccontextmanager
async def log_export(
    pool: asyncpg.Pool, selected: Selection, consistency_token: int | None, wait_seconds: float
) -> AsyncIterator[LogExport]:
    """Every row of the selection, read through a cursor while the caller writes them out.

    Read-only and repeatable read: the names and every chunk come from one snapshot, so rows arriving
    during a long download neither appear halfway nor shift what was already sent.
    """
    caught_up = await _caught_up(pool, consistency_token, wait_seconds)
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        directory = await directory_of(conn, selected.tenant_id)
        if not await store.use_time_zone(conn, directory.zone_name):
            log.warning("log_csv_time_zone_unknown_to_postgres", timezone=directory.zone_name)
        chunks = store.export_rows(conn, selected, EXPORT_CHUNK_ROWS)
        # Closed even when the client goes away mid-download, so the cursor and the connection are
        # released at once instead of when the generator is garbage-collected.
        async with contextlib.aclosing(chunks):
            yield LogExport(directory, chunks, stale=not caught_up)


async def report_of(
    pool: asyncpg.Pool,
    selected: Selection,
    caller: Identity,
    consistency_token: int | None,
    wait_seconds: float,
    max_rows: int,
    now: datetime,
) -> report.Report:
    """Totals per account and every row of the selection, from one snapshot so they agree."""
    caught_up = await _caught_up(pool, consistency_token, wait_seconds)
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        directory = await directory_of(conn, selected.tenant_id)
        records = await store.account_totals(conn, selected)
        entries = await store.oldest_first(conn, selected, rows=max_rows + 1)
    if len(entries) > max_rows:
        raise ReportTooLarge(
            f"The report would list more than {max_rows} movements: choose fewer days or accounts, "
            "or download the CSV, which has no limit."
        )
    caller_name = directory.names.get(user_code(caller.user_id)) if caller.user_id else None
    return report.Report(
        directory=directory,
        selection=selected,
        generated_at=now,
        generated_by=report.generated_by(caller.user_id, caller.role, caller_name),
        totals=[totals for record in records if (totals := report.account_totals(record)) is not None],
        entries=entries,
        stale=not caught_up,
    )


async def directory_of(conn: asyncpg.Connection, tenant_id: uuid.UUID) -> Directory:
    facts = await store.tenant_facts(conn, tenant_id)
    names = {user_code(user_id): name for user_id, name in (await store.user_names(conn, tenant_id)).items()}
    if facts is None:
        return Directory(tenant_id=tenant_id, names=names)
    return Directory(tenant_id, facts["name"], facts["timezone"] or FALLBACK_TIMEZONE, names)


@dataclass(frozen=True)
class Purged:
    entries: int
    applied: int


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


async def _caught_up(pool: asyncpg.Pool, consistency_token: int | None, wait_seconds: float) -> bool:
    if consistency_token is None:
        return True
    return await wait_until_applied(pool, consistency_token, wait_seconds)


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
