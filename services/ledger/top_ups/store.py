"""The watched accounts' SQL."""

from __future__ import annotations

import asyncpg

from common.contracts.events import TopUpWatchChanged


def watched_subquery(accounts: str) -> str:
    """Of the accounts named by the parameter `accounts` (a uuid[]), those billing tops up automatically: read
    with a posting's facts, so that its event is marked for billing (common.contracts.headers)."""
    return f"ARRAY(SELECT account_id FROM top_up_watches WHERE account_id = ANY({accounts}::uuid[]) AND watched)"  # noqa: S608


async def record_watch(conn: asyncpg.Connection, change: TopUpWatchChanged) -> bool:
    """Keep the newest setting billing announced for the account; an older one arriving late changes
    nothing (and so does the same one twice). Answers whether it changed anything."""
    status = await conn.execute(
        """INSERT INTO top_up_watches AS w (account_id, tenant_id, watched, version)
           VALUES ($1, $2, $3, $4)
           ON CONFLICT (account_id) DO UPDATE SET watched = EXCLUDED.watched, version = EXCLUDED.version,
               changed_at = now()
           WHERE w.version < EXCLUDED.version""",
        change.account_id, change.tenant_id, change.watched, change.version,
    )
    return status != "INSERT 0 0"
