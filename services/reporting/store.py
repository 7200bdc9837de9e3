"""The reporting service's SQL, parameterised, nothing else."""

from __future__ import annotations

import asyncio
import dataclasses
import operator
import uuid
from collections.abc import AsyncGenerator, Sequence
from datetime import datetime
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg

from services.reporting.domain import LogEntry, LogFilter, Selection

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


# In the order of LogEntry's fields, so a record builds an entry positionally (a dict per row costs more
# than the rest of a CSV row's encoding).
_COLUMNS = """id, tenant_id, account_id, account_code, ledger_seq, transaction_id, occurred_at, direction,
              quantity, kind, balance_after, counterparty_code, actor_user_id, reference, note, reservation"""

# One statement for any number of entries: each column travels as one array.
_INSERT_ENTRIES = f"""
INSERT INTO log_entries ({_COLUMNS})
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::bigint[], $6::uuid[], $7::timestamptz[],
                     $8::text[], $9::bigint[], $10::text[], $11::bigint[], $12::text[], $13::uuid[], $14::text[],
                     $15::text[], $16::boolean[])
"""  # noqa: S608 (a constant column list, no input)
_ENTRY_FIELDS = operator.attrgetter(*(f.name for f in dataclasses.fields(LogEntry)))

# A rebuild makes every row what the journal says, but writes only rows that differ: replaying over a
# complete log then changes nothing and leaves no dead tuples behind.
_REPAIR = """
ON CONFLICT (id) DO UPDATE SET
    tenant_id = EXCLUDED.tenant_id, account_id = EXCLUDED.account_id, account_code = EXCLUDED.account_code,
    ledger_seq = EXCLUDED.ledger_seq, transaction_id = EXCLUDED.transaction_id,
    occurred_at = EXCLUDED.occurred_at, direction = EXCLUDED.direction, quantity = EXCLUDED.quantity,
    kind = EXCLUDED.kind, balance_after = EXCLUDED.balance_after,
    counterparty_code = EXCLUDED.counterparty_code, actor_user_id = EXCLUDED.actor_user_id,
    reference = EXCLUDED.reference, note = EXCLUDED.note, reservation = EXCLUDED.reservation
WHERE (log_entries.tenant_id, log_entries.account_id, log_entries.account_code, log_entries.ledger_seq,
       log_entries.transaction_id, log_entries.occurred_at, log_entries.direction, log_entries.quantity,
       log_entries.kind, log_entries.balance_after, log_entries.counterparty_code, log_entries.actor_user_id,
       log_entries.reference, log_entries.note, log_entries.reservation)
   IS DISTINCT FROM
      (EXCLUDED.tenant_id, EXCLUDED.account_id, EXCLUDED.account_code, EXCLUDED.ledger_seq,
       EXCLUDED.transaction_id, EXCLUDED.occurred_at, EXCLUDED.direction, EXCLUDED.quantity,
       EXCLUDED.kind, EXCLUDED.balance_after, EXCLUDED.counterparty_code, EXCLUDED.actor_user_id,
       EXCLUDED.reference, EXCLUDED.note, EXCLUDED.reservation)
"""

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
    SELECT {_COLUMNS} FROM log_entries
    WHERE tenant_id = $1 AND account_id = wanted.account_id AND {_FILTERS}
      AND (occurred_at, id) < ($6, $7)
    ORDER BY occurred_at DESC, id DESC
    LIMIT $8
) AS page
ORDER BY page.occurred_at DESC, page.id DESC
LIMIT $8
"""  # noqa: S608 (constant fragments only)

_WHOLE_TENANT_PAGE = f"""
SELECT {_COLUMNS} FROM log_entries
WHERE {_WHOLE_TENANT} AND {_FILTERS} AND (occurred_at, id) < ($6, $7)
ORDER BY occurred_at DESC, id DESC
LIMIT $8
"""  # noqa: S608 (constant fragments only)

# Per account in scope: the balance before the period (else derived from its first row in it), what
# came in and went out (reservations aside) and the balance after its last row. Rows of one account
# are ordered by time, then ledger seq: the ledger stamps both after locking the account, so they agree.
_TOTALS = """
SELECT a.account_id, a.account_code, before_period.balance_after AS balance_before,
       first_row.opening AS first_opening, sums.credits_in, sums.credits_out, last_row.balance_after AS closing
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
           coalesce(sum(quantity) FILTER (WHERE direction = 'out' AND NOT reservation), 0) AS credits_out
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


async def insert_entries(conn: asyncpg.Connection, entries: Sequence[LogEntry], *, repair: bool = False) -> None:
    """Insert entries not recorded yet. A posting already in the log is left as it is, or with
    `repair` made what `entries` say (a rebuild from the ledger's journal)."""
    if not entries:
        return
    # In id order, so two writers of overlapping rows (the consumer and a rebuild) take the keys in the
    # same order and one waits for the other instead of deadlocking; one row per id, as one statement
    # may not update a row twice.
    unique = sorted({entry.id: entry for entry in entries}.values(), key=operator.attrgetter("id"))
    conflict = _REPAIR if repair else "ON CONFLICT DO NOTHING"
    await conn.execute(_INSERT_ENTRIES + conflict, *zip(*map(_ENTRY_FIELDS, unique), strict=True))
    accounts = sorted({(e.account_id, e.tenant_id, e.account_code) for e in unique})
    await conn.execute(
        """INSERT INTO log_accounts (account_id, tenant_id, account_code)
           SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[]) ON CONFLICT DO NOTHING""",
        *zip(*accounts, strict=True),
    )


async def mark_all_applied(conn: asyncpg.Connection, applied: Sequence[tuple[int, uuid.UUID, uuid.UUID]]) -> None:
    """(seq, transaction_id, tenant_id) of each transaction applied."""
    if not applied:
        return
    await conn.execute(
        """INSERT INTO applied_transactions (seq, transaction_id, tenant_id)
           SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::uuid[]) AS a ORDER BY 1
           ON CONFLICT (seq) DO NOTHING""",
        *zip(*applied, strict=True),
    )


async def is_applied(conn: asyncpg.Connection, seq: int) -> bool:
    return bool(await conn.fetchval("SELECT true FROM applied_transactions WHERE seq = $1", seq))


def _selection_args(selected: Selection) -> list[Any]:
    scope_arg: Any = list(selected.account_ids) if selected.scope == "accounts" else selected.includes_system
    return [selected.tenant_id, scope_arg, selected.since, selected.kind, selected.direction]


async def log_page(conn: asyncpg.Connection, log_filter: LogFilter, rows: int) -> list[LogEntry]:
    """Up to `rows` entries of the selection, newest first, older than the filter's cursor."""
    selected = log_filter.selection
    sql = _NAMED_ACCOUNTS_PAGE if selected.scope == "accounts" else _WHOLE_TENANT_PAGE
    args = [*_selection_args(selected), log_filter.before.occurred_at, log_filter.before.entry_id, rows]
    return [LogEntry(*record) for record in await conn.fetch(sql, *args)]


def _rows_sql(selected: Selection, order: Literal["ASC", "DESC"], limited: bool, columns: str = _COLUMNS) -> str:
    where = _NAMED_ACCOUNTS if selected.scope == "accounts" else _WHOLE_TENANT
    limit = "LIMIT $6" if limited else ""
    return (
        f"SELECT {columns} FROM log_entries WHERE {where} AND {_FILTERS} "  # noqa: S608 (constants only)
        f"ORDER BY occurred_at {order}, id {order} {limit}"
    )


# The CSV's rows, in the order of csv_export.ExportRow. Postgres writes the time (in the transaction's
# time zone, see use_time_zone) and the numbers as text: formatting them here was a third of the
# export's CPU, and Postgres does it in C on another core while this process encodes the previous chunk.
_EXPORT_COLUMNS = """to_char(occurred_at, 'YYYY-MM-DD HH24:MI:SS TZH:TZM'), account_code, direction, quantity::text,
                     kind, balance_after::text, counterparty_code, actor_user_id::text, reference, note"""


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
    sql = _rows_sql(selected, "DESC", limited=False, columns=_EXPORT_COLUMNS)
    cursor = await conn.cursor(sql, *_selection_args(selected))
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


async def oldest_first(conn: asyncpg.Connection, selected: Selection, rows: int) -> list[LogEntry]:
    records = await conn.fetch(_rows_sql(selected, "ASC", limited=True), *_selection_args(selected), rows)
    return [LogEntry(*record) for record in records]


async def account_totals(conn: asyncpg.Connection, selected: Selection) -> list[asyncpg.Record]:
    """Per account in scope, what its totals are made of (see report.account_totals). The period runs
    to the latest row, not to a clock reading: another machine's clock must not cut a row off."""
    account_ids = list(selected.account_ids) if selected.scope == "accounts" else None
    return list(await conn.fetch(_TOTALS, selected.tenant_id, account_ids, selected.includes_system, selected.since))


async def upsert_tenant(conn: asyncpg.Connection, tenant_id: uuid.UUID, name: str, timezone: str, version: int) -> bool:
    """Keep the newest version only; True when this one was newer (and so applied)."""
    return bool(
        await conn.fetchval(
            """INSERT INTO directory_tenants (id, name, timezone, version) VALUES ($1, $2, $3, $4)
               ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, timezone = EXCLUDED.timezone,
                   version = EXCLUDED.version
               WHERE directory_tenants.version < EXCLUDED.version
               RETURNING true""",
            tenant_id, name, timezone, version,
        )
    )


async def upsert_user(
    conn: asyncpg.Connection, user_id: uuid.UUID, tenant_id: uuid.UUID, name: str, version: int
) -> bool:
    return bool(
        await conn.fetchval(
            """INSERT INTO directory_users (id, tenant_id, name, version) VALUES ($1, $2, $3, $4)
               ON CONFLICT (id) DO UPDATE SET tenant_id = EXCLUDED.tenant_id, name = EXCLUDED.name,
                   version = EXCLUDED.version
               WHERE directory_users.version < EXCLUDED.version
               RETURNING true""",
            user_id, tenant_id, name, version,
        )
    )


async def tenant_facts(conn: asyncpg.Connection, tenant_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT name, timezone FROM directory_tenants WHERE id = $1", tenant_id)


async def user_names(conn: asyncpg.Connection, tenant_id: uuid.UUID) -> dict[uuid.UUID, str]:
    rows = await conn.fetch("SELECT id, name FROM directory_users WHERE tenant_id = $1", tenant_id)
    return {row["id"]: row["name"] for row in rows}


PurgedTable = Literal["log_entries", "applied_transactions"]


async def purge_batch(conn: asyncpg.Connection, table: PurgedTable, before: datetime, batch: int) -> int:
    """Delete up to `batch` of the table's rows older than `before`, oldest first; answers how many."""
    key, moment = ("id", "occurred_at") if table == "log_entries" else ("seq", "applied_at")
    status = await conn.execute(
        f"""DELETE FROM {table} WHERE {key} IN (
                SELECT {key} FROM {table} WHERE {moment} < $1 ORDER BY {moment} LIMIT $2)""",  # noqa: S608
        before, batch,
    )
    return int(status.split()[-1])


async def tenants_in_log(conn: asyncpg.Connection) -> list[uuid.UUID]:
    return [r["tenant_id"] for r in await conn.fetch("SELECT DISTINCT tenant_id FROM log_accounts ORDER BY 1")]


async def latest_balances(conn: asyncpg.Connection, tenant_id: uuid.UUID) -> dict[str, int]:
    """Per account of the tenant, the balance after its latest row (accounts with no row left out)."""
    rows = await conn.fetch(
        """SELECT a.account_code, last_row.balance_after FROM log_accounts a
           CROSS JOIN LATERAL (
               SELECT balance_after FROM log_entries e
               WHERE e.tenant_id = a.tenant_id AND e.account_id = a.account_id
               ORDER BY e.occurred_at DESC, e.ledger_seq DESC LIMIT 1
           ) AS last_row
           WHERE a.tenant_id = $1 ORDER BY a.account_code""",
        tenant_id,
    )
    return {row["account_code"]: row["balance_after"] for row in rows}
