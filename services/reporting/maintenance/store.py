"""The maintenance commands' SQL: purge batches, and each account's latest logged balance."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

import asyncpg

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
