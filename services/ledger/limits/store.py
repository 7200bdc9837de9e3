"""The spending limits' SQL. Parameterised statements only; no rules here."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg


async def limit_facts(conn: asyncpg.Connection, tenant_id: uuid.UUID, user_id: uuid.UUID) -> asyncpg.Record:
    """In one round trip: the person's limit (None: none), their name and tenant as the directory gave
    them (None: not heard of yet), the tenant's zone, and the database's clock."""
    row = await conn.fetchrow(
        """SELECT (SELECT monthly_credit_limit FROM spending_limits WHERE tenant_id = $1 AND user_id = $2) AS lim,
                  (SELECT timezone FROM tenants WHERE id = $1) AS timezone,
                  u.name, u.tenant_id AS user_tenant_id, clock_timestamp() AS now
           FROM (SELECT 1) AS one LEFT JOIN users u ON u.id = $2""",
        tenant_id, user_id,
    )
    assert row is not None
    return row


async def used_in(
    conn: asyncpg.Connection, tenant_id: uuid.UUID, user_id: uuid.UUID, starts_at: datetime, resets_at: datetime
) -> int:
    """Credits of the person's holds counted in the month [starts_at, resets_at): all of an open one, what
    was captured of a settled one. A range, not the start itself: a hold counted before the tenant changed
    its zone began its month a few hours off this one's start, and is still this month's."""
    value = await conn.fetchval(
        """SELECT coalesce(sum(CASE WHEN h.status = 'open' THEN h.quantity ELSE h.captured END), 0)
           FROM limit_holds l JOIN holds h ON h.id = l.hold_id
           WHERE l.tenant_id = $1 AND l.user_id = $2 AND l.month_starts_at >= $3 AND l.month_starts_at < $4""",
        tenant_id, user_id, starts_at, resets_at,
    )
    return int(value)


async def count_hold(
    conn: asyncpg.Connection, hold_id: uuid.UUID, tenant_id: uuid.UUID, user_id: uuid.UUID, month: datetime
) -> None:
    await conn.execute(
        "INSERT INTO limit_holds (hold_id, tenant_id, user_id, month_starts_at) VALUES ($1, $2, $3, $4)",
        hold_id, tenant_id, user_id, month,
    )


async def set_limit(conn: asyncpg.Connection, tenant_id: uuid.UUID, user_id: uuid.UUID, limit: int | None) -> None:
    if limit is None:
        await conn.execute("DELETE FROM spending_limits WHERE tenant_id = $1 AND user_id = $2", tenant_id, user_id)
        return
    await conn.execute(
        """INSERT INTO spending_limits (tenant_id, user_id, monthly_credit_limit) VALUES ($1, $2, $3)
           ON CONFLICT (tenant_id, user_id) DO UPDATE
           SET monthly_credit_limit = EXCLUDED.monthly_credit_limit, updated_at = now()""",
        tenant_id, user_id, limit,
    )
