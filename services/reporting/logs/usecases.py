"""Reading the log: a page, an export and a report, each from one snapshot, each after waiting (bounded)
for the ledger transaction the caller just made.

Reads go through LogReads: the replica when one is set, else (or while it is down) the primary. A read
carrying a consistency token (the ledger transaction's seq) checks that the transaction is in the log in
the same read-only snapshot that then serves the read, so "caught up" is a fact about the rows it answers,
whichever server (or which of several replicas behind a balancer) holds that snapshot."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from common.accounts import user_code
from common.identity import Identity
from common.logs import get_logger
from services.reporting.directory.domain import Directory
from services.reporting.directory.usecases import directory_of
from services.reporting.entries import store as entries_store
from services.reporting.entries.domain import LogEntry
from services.reporting.logs import domain, report, store
from services.reporting.logs.domain import LogFilter, LogPage, Selection
from services.reporting.reads import LogReads
from services.reporting.usage import usecases as usage_usecases

log = get_logger(__name__)

# Polling, not LISTEN: a check is one primary-key lookup, the wait is bounded by a couple of seconds,
# and it needs no dedicated connection per process. The first checks are close together because the
# event usually lands within milliseconds of the write that produced the token.
_FIRST_POLL_SECONDS = 0.01
_MAX_POLL_SECONDS = 0.1
# Rows fetched from the export cursor and written to the client at a time: big enough that round
# trips and writes do not dominate, small enough that memory stays flat (a chunk is about a megabyte
# of CSV, and two are held: the one being written and the next being read).
EXPORT_CHUNK_ROWS = 5000


async def read_log(
    reads: LogReads, log_filter: LogFilter, consistency_token: int | None, wait_seconds: float
) -> LogPage:
    """A page of the log, after waiting (bounded) for the ledger transaction the caller just made."""
    if consistency_token is None:
        async with reads.connection() as conn:
            # One statement, so one snapshot: the page is consistent without an explicit transaction.
            rows = await store.log_page(conn, log_filter, rows=log_filter.limit + 1)
        return domain.page_of(rows, log_filter.limit, stale=False)
    async with caught_up_snapshot(reads, consistency_token, wait_seconds) as (conn, caught_up):
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
    reads: LogReads, selected: Selection, consistency_token: int | None, wait_seconds: float
) -> AsyncIterator[LogExport]:
    """Every row of the selection, read through a cursor while the caller writes them out.

    Read-only and repeatable read: the names and every chunk come from one snapshot, so rows arriving
    during a long download neither appear halfway nor shift what was already sent.
    """
    async with caught_up_snapshot(reads, consistency_token, wait_seconds) as (conn, caught_up):
        directory = await directory_of(conn, selected.tenant_id)
        if not await store.use_time_zone(conn, directory.zone_name):
            log.warning("log_csv_time_zone_unknown_to_postgres", timezone=directory.zone_name)
        chunks = store.export_rows(conn, selected, EXPORT_CHUNK_ROWS)
        # Closed even when the client goes away mid-download, so the cursor and the connection are
        # released at once instead of when the generator is garbage-collected.
        async with contextlib.aclosing(chunks):
            yield LogExport(directory, chunks, stale=not caught_up)


# Rows of a report read from its cursor at a time: rendered (HTML) or drawn (PDF) while the next is read.
REPORT_CHUNK_ROWS = 2000


@dataclass(frozen=True)
class ReportStream:
    # The header, totals and chart; its `entries` stay empty: the rows come from `chunks`.
    report: report.Report
    # Oldest first, REPORT_CHUNK_ROWS at a time.
    chunks: AsyncIterator[list[LogEntry]]


@contextlib.asynccontextmanager
async def report_stream(
    reads: LogReads,
    selected: Selection,
    caller: Identity,
    consistency_token: int | None,
    wait_seconds: float,
    now: datetime,
) -> AsyncIterator[ReportStream]:
    """Totals per account and every row of the selection, from one snapshot so they agree, the rows
    read through a cursor while the caller writes them out: any number of rows in constant memory."""
    async with caught_up_snapshot(reads, consistency_token, wait_seconds) as (conn, caught_up):
        directory = await directory_of(conn, selected.tenant_id)
        records = await store.account_totals(conn, selected)
        days = max(1, round((now - selected.since) / timedelta(days=1)))
        usage = await usage_usecases.daily_usage(conn, directory, selected, days, now)
        caller_name = directory.names.get(user_code(caller.user_id)) if caller.user_id else None
        printable = report.Report(
            directory=directory,
            selection=selected,
            generated_at=now,
            generated_by=report.generated_by(caller.user_id, caller.role, caller_name),
            totals=[totals for record in records if (totals := report.account_totals(record)) is not None],
            stale=not caught_up,
            usage=usage,
        )
        chunks = store.report_rows(conn, selected, REPORT_CHUNK_ROWS)
        # Closed even when the client goes away mid-download: the cursor and connection go back at once.
        async with contextlib.aclosing(chunks):
            yield ReportStream(printable, chunks)


@contextlib.asynccontextmanager
async def caught_up_snapshot(
    reads: LogReads, consistency_token: int | None, wait_seconds: float
) -> AsyncIterator[tuple[asyncpg.Connection, bool]]:
    """A read-only snapshot of the log and whether it holds ledger transaction `consistency_token` (True
    without a token), waiting up to `wait_seconds` for one that does.

    The check and the caller's read share the snapshot: on a replica that is one consistent point of its
    replay, so a snapshot that holds the transaction's `applied_transactions` row holds its log rows too
    (they commit together). Checking on one connection and reading on another would prove nothing about
    the second when several replicas sit behind a balancer."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_seconds
    pause = _FIRST_POLL_SECONDS
    while True:
        # A fresh snapshot per check, its connection back to the pool between checks: waiting readers hold
        # no snapshot open (on the primary, none keeps old row versions alive) and starve no one.
        async with reads.snapshot() as conn:
            applied = consistency_token is None or await entries_store.is_applied(conn, consistency_token)
            remaining = deadline - loop.time()
            if applied or remaining <= 0:
                yield conn, applied
                return
        await asyncio.sleep(min(pause, remaining))
        pause = min(pause * 2, _MAX_POLL_SECONDS)
