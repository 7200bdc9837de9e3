"""The event log's SQL."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg


async def page(conn: asyncpg.Connection, tenant_id: uuid.UUID, after: int, limit: int) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """SELECT envelope FROM event_log WHERE tenant_id = $1 AND sequence > $2
           ORDER BY sequence LIMIT $3""",
        tenant_id, after, limit,
    )
    return [r["envelope"] for r in rows]


async def last_sequence(conn: asyncpg.Connection, tenant_id: uuid.UUID) -> int:
    last = await conn.fetchval("SELECT last_sequence FROM event_streams WHERE tenant_id = $1", tenant_id)
    return int(last or 0)
