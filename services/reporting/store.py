"""The reporting service's SQL, parameterised, nothing else."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence

import asyncpg

from services.reporting.domain import LogEntry, LogFilter

_INSERT_ENTRY = """
INSERT INTO log_entries (id, tenant_id, account_id, account_code, ledger_seq, transaction_id,
                         occurred_at, direction, quantity, kind, balance_after, counterparty_code,
                         actor_user_id, reference, note)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
ON CONFLICT DO NOTHING
"""

# One index walk per account, each stopping after a page, then the newest page of their union. A
# plain `account_id = ANY(...)` would instead read every matching entry of the window and sort them.
_LOG_PAGE = """
SELECT page.* FROM unnest($2::uuid[]) AS wanted (account_id)
CROSS JOIN LATERAL (
    SELECT id, tenant_id, account_id, account_code, ledger_seq, transaction_id, occurred_at,
           direction, quantity, kind, balance_after, counterparty_code, actor_user_id, reference, note
    FROM log_entries
    WHERE tenant_id = $1
      AND account_id = wanted.account_id
      AND occurred_at >= $3
      AND (occurred_at, id) < ($4, $5)
      AND ($6::text IS NULL OR kind = $6)
      AND ($7::text IS NULL OR direction = $7)
    ORDER BY occurred_at DESC, id DESC
    LIMIT $8
) AS page
ORDER BY page.occurred_at DESC, page.id DESC
LIMIT $8
"""


async def insert_entries(conn: asyncpg.Connection, entries: Sequence[LogEntry]) -> None:
    """Insert entries not recorded yet; a posting already in the log is left as it is."""
    if entries:
        await conn.executemany(_INSERT_ENTRY, [dataclasses.astuple(entry) for entry in entries])


async def mark_applied(conn: asyncpg.Connection, seq: int, transaction_id: uuid.UUID, tenant_id: uuid.UUID) -> None:
    await conn.execute(
        """INSERT INTO applied_transactions (seq, transaction_id, tenant_id) VALUES ($1, $2, $3)
           ON CONFLICT (seq) DO NOTHING""",
        seq,
        transaction_id,
        tenant_id,
    )


async def is_applied(conn: asyncpg.Connection, seq: int) -> bool:
    return bool(await conn.fetchval("SELECT true FROM applied_transactions WHERE seq = $1", seq))


async def log_page(conn: asyncpg.Connection, log_filter: LogFilter, rows: int) -> list[LogEntry]:
    """Up to `rows` entries of the filter's accounts, newest first, older than its cursor."""
    records = await conn.fetch(
        _LOG_PAGE,
        log_filter.tenant_id,
        list(log_filter.account_ids),
        log_filter.since,
        log_filter.before.occurred_at,
        log_filter.before.entry_id,
        log_filter.kind,
        log_filter.direction,
        rows,
    )
    return [LogEntry(**dict(record)) for record in records]
