"""The ledger's replica of the directory (tenants, users) in SQL. Parameterised statements only."""

from __future__ import annotations

import uuid

import asyncpg


async def credit_mode(conn: asyncpg.Connection, tenant_id: uuid.UUID) -> str | None:
    value = await conn.fetchval("SELECT credit_mode FROM tenants WHERE id = $1", tenant_id)
    return str(value) if value else None


async def tenant_facts(conn: asyncpg.Connection, tenant_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT credit_mode, version, mode_switch_version FROM tenants WHERE id = $1",
                               tenant_id)


async def note_mode_switch(conn: asyncpg.Connection, tenant_id: uuid.UUID, version: int) -> None:
    await conn.execute(
        """UPDATE tenants SET mode_switch_version = greatest(coalesce(mode_switch_version, 0), $2)
           WHERE id = $1""",
        tenant_id, version,
    )


async def upsert_tenant(
    conn: asyncpg.Connection, tenant_id: uuid.UUID, mode: str, threshold: int | None, version: int,
    timezone: str | None = None, refund_undelivered: bool | None = None,
) -> None:
    """Keep the newest version only: an older event arriving late changes nothing. A fact not given
    (None: a credit-mode switch carries no threshold or zone) keeps the one held."""
    await conn.execute(
        """INSERT INTO tenants (id, credit_mode, low_balance_threshold, version, timezone, refund_undelivered)
           VALUES ($1, $2, coalesce($3, 0), $4, $5, coalesce($6, true))
           ON CONFLICT (id) DO UPDATE SET credit_mode = EXCLUDED.credit_mode,
               low_balance_threshold = coalesce($3, tenants.low_balance_threshold), version = EXCLUDED.version,
               timezone = coalesce($5, tenants.timezone),
               refund_undelivered = coalesce($6, tenants.refund_undelivered)
           WHERE tenants.version < EXCLUDED.version""",
        tenant_id, mode, threshold, version, timezone, refund_undelivered,
    )


async def upsert_user(conn: asyncpg.Connection, facts: dict[str, object], version: int) -> bool:
    """True when this version was newer than the one held (and so applied)."""
    applied = await conn.fetchval(
        """INSERT INTO users (id, tenant_id, role, team, active, send_sms, manage_credits, version, name)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (id) DO UPDATE SET role = EXCLUDED.role, team = EXCLUDED.team, active = EXCLUDED.active,
               send_sms = EXCLUDED.send_sms, manage_credits = EXCLUDED.manage_credits, version = EXCLUDED.version,
               name = EXCLUDED.name
           WHERE users.version < EXCLUDED.version
           RETURNING true""",
        facts["user_id"], facts["tenant_id"], facts["role"], facts["team"], facts["active"],
        facts["send_sms"], facts["manage_credits"], version, facts.get("name"),
    )
    return bool(applied)


async def user_accounts_with_credits(conn: asyncpg.Connection, tenant_id: uuid.UUID) -> list[str]:
    rows = await conn.fetch(
        "SELECT code FROM accounts WHERE tenant_id = $1 AND kind = 'user' AND balance - held > 0 ORDER BY id",
        tenant_id,
    )
    return [r["code"] for r in rows]
