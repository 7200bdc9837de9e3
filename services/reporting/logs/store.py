"""The SQL that reads the log: a page, the CSV's rows, a report's rows and totals; and how the service's
connections plan so that every one of these reads walks an index."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg

from services.reporting.entries.domain import LogEntry
from services.reporting.entries.store import COLUMNS
from services.reporting.logs.domain import LogFilter, Selection

# How reporting's connections plan. Every read here walks an index in order and stops after what it
# needs (a page, a latest row, a purge batch) or streams in that order (the CSV). A bitmap scan can
# do neither: it reads every matching row, then sorts. The planner still picks one where it expects
# few rows, and inside the page's lateral join it estimates an account's rows from the average over
# all accounts (it cannot see which account), so the first page of an account with a million rows
# could read and sort all of them: 100 ms instead of 0.3. Ruled out for the service's connections, set
# when each connects (a per-statement SET LOCAL would cost the page two more round trips).
PLANNER_SETTINGS = {"enable_bitmapscan": "off"}


def planned_dsn(dsn: str) -> str:
    """The database URL with PLANNER_SETTINGS, which asyncpg sends as the session's own defaults (so
    the pool's RESET ALL between uses keeps them)."""
    parts = urlsplit(dsn)
    query = urlencode([*parse_qsl(parts.query), *PLANNER_SETTINGS.items()])
    return urlunsplit(parts._replace(query=query))


# The rows a selection reads, in two shapes. Named accounts: their ids. A whole tenant (or its users):
# the tenant's rows, read through the tenant-time index in order, however many accounts it has. $2 is
# then "include System Credits" (the log holds only user-facing accounts, so everything else is a user).
_NAMED_ACCOUNTS = "tenant_id = $1 AND account_id = ANY($2::uuid[])"
_WHOLE_TENANT = "tenant_id = $1 AND ($2::boolean OR account_code <> 'system')"
_FILTERS = "occurred_at >= $3 AND ($4::text IS NULL OR kind = $4) AND ($5::text IS NULL OR direction = $5)"

# Named accounts: one index walk per account, each stopping after a page, then the newest page of
# their union. A plain `account_id = ANY(...)` would instead read every matching entry and sort them.
_NAMED_ACCOUNTS_PAGE = f"""
SELECT page.* FROM unnest($2::uuid[]) AS wanted (account_id)
CROSS JOIN LATERAL (
    SELECT {COLUMNS} FROM log_entries
    WHERE tenant_id = $1 AND account_id = wanted.account_id AND {_FILTERS}
      AND (occurred_at, id) < ($6, $7)
    ORDER BY occurred_at DESC, id DESC
    LIMIT $8
) AS page
ORDER BY page.occurred_at DESC, page.id DESC
LIMIT $8
"""  # noqa: S608 (constant fragments only)

_WHOLE_TENANT_PAGE = f"""
SELECT {COLUMNS} FROM log_entries
WHERE {_WHOLE_TENANT} AND {_FILTERS} AND (occurred_at, id) < ($6, $7)
ORDER BY occurred_at DESC, id DESC
LIMIT $8
"""  # noqa: S608 (constant fragments only)

# Per account in scope: the balance before the period (else derived from its first row in it), what
# came in (and how much of it was promotional) and went out (and how much of it expired), reservations
# aside, and the balance after its last row. Rows of one account are ordered by time, then ledger seq:
# the ledger stamps both after locking the account, so they agree.
_TOTALS = """
SELECT a.account_id, a.account_code, before_period.balance_after AS balance_before,
       first_row.opening AS first_opening, sums.credits_in, sums.credits_out, sums.promotional_in,
       sums.credits_expired, last_row.balance_after AS closing
FROM log_accounts a
LEFT JOIN LATERAL (
    SELECT balance_after FROM log_entries e
    WHERE e.tenant_id = a.tenant_id AND e.account_id = a.account_id AND e.occurred_at < $4
    ORDER BY e.occurred_at DESC, e.ledger_seq DESC LIMIT 1
) AS before_period ON true
LEFT JOIN LATERAL (
    SELECT balance_after - CASE WHEN reservation THEN 0 WHEN direction = 'in' THEN quantity ELSE -quantity END
           AS opening
    FROM log_entries e
    WHERE e.tenant_id = a.tenant_id AND e.account_id = a.account_id AND e.occurred_at >= $4
    ORDER BY e.occurred_at, e.ledger_seq LIMIT 1
) AS first_row ON true
LEFT JOIN LATERAL (
    SELECT coalesce(sum(quantity) FILTER (WHERE direction = 'in' AND NOT reservation), 0) AS credits_in,
           coalesce(sum(quantity) FILTER (WHERE direction = 'out' AND NOT reservation), 0) AS credits_out,
           coalesce(sum(promotional) FILTER (WHERE direction = 'in' AND NOT reservation), 0) AS promotional_in,
           coalesce(sum(quantity) FILTER (WHERE kind = 'lot_expiry' AND direction = 'out' AND NOT reservation), 0)
               AS credits_expired
    FROM log_entries e
    WHERE e.tenant_id = a.tenant_id AND e.account_id = a.account_id AND e.occurred_at >= $4
) AS sums ON true
LEFT JOIN LATERAL (
    SELECT balance_after FROM log_entries e
    WHERE e.tenant_id = a.tenant_id AND e.account_id = a.account_id
    ORDER BY e.occurred_at DESC, e.ledger_seq DESC LIMIT 1
) AS last_row ON true
WHERE a.tenant_id = $1 AND ($2::uuid[] IS NULL OR a.account_id = ANY($2)) AND ($3 OR a.account_code <> 'system')
ORDER BY a.account_code <> 'system', a.account_code
"""


def _selection_args(selected: Selection) -> list[Any]:
    scope_arg: Any = list(selected.account_ids) if selected.scope == "accounts" else selected.includes_system
    return [selected.tenant_id, scope_arg, selected.since, selected.kind, selected.direction]


async def log_page(conn: asyncpg.Connection, log_filter: LogFilter, rows: int) -> list[LogEntry]:
    """Up to `rows` entries of the selection, newest first, older than the filter's cursor."""
    selected = log_filter.selection
    sql = _NAMED_ACCOUNTS_PAGE if selected.scope == "accounts" else _WHOLE_TENANT_PAGE
    args = [*_selection_args(selected), log_filter.before.occurred_at, log_filter.before.entry_id, rows]
    return [LogEntry(*record) for record in await conn.fetch(sql, *args)]


def _rows_sql(selected: Selection, order: Literal["ASC", "DESC"], columns: str = COLUMNS) -> str:
    where = _NAMED_ACCOUNTS if selected.scope == "accounts" else _WHOLE_TENANT
    return (
        f"SELECT {columns} FROM log_entries WHERE {where} AND {_FILTERS} "  # noqa: S608 (constants only)
        f"ORDER BY occurred_at {order}, id {order}"
    )


# The CSV's rows, in the order of csv_export.ExportRow. Postgres writes the time (in the transaction's
# time zone, see use_time_zone) and the numbers as text: formatting them here was a third of the
# export's CPU, and Postgres does it in C on another core while this process encodes the previous chunk.
_EXPORT_COLUMNS = """to_char(occurred_at, 'YYYY-MM-DD HH24:MI:SS TZH:TZM'), account_code, direction, quantity::text,
                     kind, balance_after::text, counterparty_code, actor_user_id::text, reference, note,
                     transaction_id::text, promotional::text"""


async def use_time_zone(conn: asyncpg.Connection, name: str) -> bool:
    """Until the transaction ends, Postgres writes times in zone `name`; False (and UTC) where Postgres
    does not know the name. Call inside a transaction."""
    try:
        async with conn.transaction():  # a savepoint: an unknown name must not abort the caller's transaction
            await conn.execute("SELECT set_config('TimeZone', $1, true)", name)
    except asyncpg.InvalidParameterValueError:
        await conn.execute("SELECT set_config('TimeZone', 'UTC', true)")
        return False
    return True


async def export_rows(
    conn: asyncpg.Connection, selected: Selection, chunk: int
) -> AsyncGenerator[list[asyncpg.Record], None]:
    """Every row of the selection as the CSV reads it, newest first, `chunk` rows at a time through a
    server-side cursor: memory holds two chunks, whatever the row count. The next chunk is read while
    the caller handles this one. Call inside a transaction (cursors need one)."""
    sql = _rows_sql(selected, "DESC", columns=_EXPORT_COLUMNS)
    async for records in _chunks(conn, sql, _selection_args(selected), chunk):
        yield records


async def report_rows(
    conn: asyncpg.Connection, selected: Selection, chunk: int
) -> AsyncGenerator[list[LogEntry], None]:
    """Every row of the selection oldest first, as a statement reads, `chunk` rows at a time through a
    server-side cursor (memory holds two chunks, whatever the row count). Call inside a transaction."""
    async for records in _chunks(conn, _rows_sql(selected, "ASC"), _selection_args(selected), chunk):
        yield [LogEntry(*record) for record in records]


async def _chunks(
    conn: asyncpg.Connection, sql: str, args: list[Any], chunk: int
) -> AsyncGenerator[list[asyncpg.Record], None]:
    cursor = await conn.cursor(sql, *args)
    pending = asyncio.ensure_future(cursor.fetch(chunk))
    try:
        while records := await pending:
            pending = asyncio.ensure_future(cursor.fetch(chunk))
            yield records
    finally:
        if not pending.done():
            # The reader stopped early (a client gone): let the read in flight finish, so the
            # connection is idle again when its transaction ends and it goes back to the pool.
            await asyncio.wait([pending])


async def account_totals(conn: asyncpg.Connection, selected: Selection) -> list[asyncpg.Record]:
    """Per account in scope, what its totals are made of (see report.account_totals). The period runs
    to the latest row, not to a clock reading: another machine's clock must not cut a row off."""
    account_ids = list(selected.account_ids) if selected.scope == "accounts" else None
    return list(await conn.fetch(_TOTALS, selected.tenant_id, account_ids, selected.includes_system, selected.since))
