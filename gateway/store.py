"""The directory's SQL."""

from __future__ import annotations

import uuid

import asyncpg

from gateway.domain import Person, Tenant

_PERSON = "id, tenant_id, email, name, role, team, active, send_sms, manage_credits"
_TENANT = "id, name, legal_name, abn, credit_mode, timezone"


async def credentials_by_email(conn: asyncpg.Connection, email: str) -> tuple[Person, str] | None:
    row = await conn.fetchrow(
        f"SELECT {_PERSON}, password_hash FROM users WHERE lower(email) = lower($1)",  # noqa: S608
        email,
    )
    if row is None:
        return None
    data = dict(row)
    password_hash = data.pop("password_hash")
    return Person(**data), password_hash


async def person(conn: asyncpg.Connection, user_id: uuid.UUID) -> Person | None:
    row = await conn.fetchrow(f"SELECT {_PERSON} FROM users WHERE id = $1", user_id)  # noqa: S608
    return Person(**dict(row)) if row else None


async def people_of(conn: asyncpg.Connection, tenant_id: uuid.UUID) -> list[Person]:
    rows = await conn.fetch(
        f"SELECT {_PERSON} FROM users WHERE tenant_id = $1 ORDER BY name",  # noqa: S608
        tenant_id,
    )
    return [Person(**dict(r)) for r in rows]


async def tenant(conn: asyncpg.Connection, tenant_id: uuid.UUID) -> Tenant | None:
    row = await conn.fetchrow(f"SELECT {_TENANT} FROM tenants WHERE id = $1", tenant_id)  # noqa: S608
    return Tenant(**dict(row)) if row else None


async def upsert_tenant(conn: asyncpg.Connection, t: Tenant) -> None:
    await conn.execute(
        """INSERT INTO tenants (id, name, legal_name, abn, credit_mode, timezone)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING""",
        t.id, t.name, t.legal_name, t.abn, t.credit_mode, t.timezone,
    )


async def insert_person(conn: asyncpg.Connection, p: Person, password_hash: str) -> bool:
    """Add a person unless one with this email exists; True when added."""
    added = await conn.fetchval(
        """INSERT INTO users (id, tenant_id, email, name, password_hash, role, team, active,
                              send_sms, manage_credits)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT DO NOTHING RETURNING true""",
        p.id, p.tenant_id, p.email, p.name, password_hash, p.role, p.team, p.active,
        p.send_sms, p.manage_credits,
    )
    return bool(added)
