"""The directory replica's SQL: the newest version of each tenant and person wins."""

from __future__ import annotations

import uuid

import asyncpg


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
