"""The directory's SQL."""

from __future__ import annotations

import uuid

import asyncpg

from gateway.domain import Person, Tenant

_PERSON = "id, tenant_id, email, name, role, team, active, send_sms, manage_credits"
_TENANT = "id, name, legal_name, abn, credit_mode, timezone, low_balance_threshold"
_PERSON_FIELDS = tuple(_PERSON.split(", "))
_TENANT_FIELDS = tuple(_TENANT.split(", "))


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


async def people_by_account(
    conn: asyncpg.Connection, tenant_id: uuid.UUID, account_ids: list[uuid.UUID]
) -> dict[uuid.UUID, Person]:
    """The tenant's people whose User Credits accounts are among these ids, by account id."""
    rows = await conn.fetch(
        f"SELECT {_PERSON}, account_id FROM users "  # noqa: S608
        "WHERE tenant_id = $1 AND account_id = ANY($2::uuid[]) AND role <> 'operator'",
        tenant_id, account_ids,
    )
    return {r["account_id"]: _person(r) for r in rows}


async def people_named(
    conn: asyncpg.Connection, tenant_id: uuid.UUID, user_ids: list[uuid.UUID], account_ids: list[uuid.UUID]
) -> list[tuple[Person, uuid.UUID]]:
    """The tenant's people with one of these ids or owning one of these accounts, each with their
    account id: what it takes to put names on a page of the log."""
    rows = await conn.fetch(
        f"SELECT {_PERSON}, account_id FROM users WHERE tenant_id = $1 "  # noqa: S608
        "AND (id = ANY($2::uuid[]) OR account_id = ANY($3::uuid[])) AND role <> 'operator'",
        tenant_id, user_ids, account_ids,
    )
    return [(_person(r), r["account_id"]) for r in rows]


def _person(row: asyncpg.Record) -> Person:
    return Person(**{name: row[name] for name in _PERSON_FIELDS})


async def caller(conn: asyncpg.Connection, user_id: uuid.UUID) -> tuple[Person, Tenant | None] | None:
    """A person and their tenant, in one round trip: every authenticated request asks."""
    row = await conn.fetchrow(
        f"SELECT {', '.join('u.' + f for f in _PERSON_FIELDS)}, "  # noqa: S608
        f"{', '.join('t.' + f + ' AS t_' + f for f in _TENANT_FIELDS)} "
        "FROM users u LEFT JOIN tenants t ON t.id = u.tenant_id WHERE u.id = $1",
        user_id,
    )
    if row is None:
        return None
    tenant = Tenant(**{f: row["t_" + f] for f in _TENANT_FIELDS}) if row["t_id"] is not None else None
    return _person(row), tenant


async def tenant(conn: asyncpg.Connection, tenant_id: uuid.UUID) -> Tenant | None:
    row = await conn.fetchrow(f"SELECT {_TENANT} FROM tenants WHERE id = $1", tenant_id)  # noqa: S608
    return Tenant(**dict(row)) if row else None


async def insert_tenant(conn: asyncpg.Connection, t: Tenant) -> bool:
    """Add a tenant unless it exists; True when added."""
    added = await conn.fetchval(
        """INSERT INTO tenants (id, name, legal_name, abn, credit_mode, timezone, low_balance_threshold)
           VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING RETURNING true""",
        t.id, t.name, t.legal_name, t.abn, t.credit_mode, t.timezone, t.low_balance_threshold,
    )
    return bool(added)


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


async def update_person(conn: asyncpg.Connection, user_id: uuid.UUID, changes: dict[str, object]) -> tuple[Person, int]:
    """Apply the changed fields (names come from a fixed list, values are parameters); answers the
    person as they are now and their new directory version."""
    allowed = ("active", "send_sms", "manage_credits", "team", "role")
    fields = [name for name in allowed if name in changes]
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(fields, start=2))
    row = await conn.fetchrow(
        f"UPDATE users SET {assignments}, version = version + 1 WHERE id = $1 "  # noqa: S608
        f"RETURNING {_PERSON}, version",
        user_id, *(changes[name] for name in fields),
    )
    assert row is not None
    data = dict(row)
    version = data.pop("version")
    return Person(**data), version


async def set_credit_mode(conn: asyncpg.Connection, tenant_id: uuid.UUID, mode: str) -> tuple[Tenant, int]:
    row = await conn.fetchrow(
        f"UPDATE tenants SET credit_mode = $2, version = version + 1 WHERE id = $1 RETURNING {_TENANT}, version",  # noqa: S608
        tenant_id, mode,
    )
    assert row is not None
    data = dict(row)
    version = data.pop("version")
    return Tenant(**data), version


async def versions(conn: asyncpg.Connection, table: str, ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    assert table in ("users", "tenants")
    rows = await conn.fetch(f"SELECT id, version FROM {table} WHERE id = ANY($1::uuid[])", ids)  # noqa: S608
    return {r["id"]: r["version"] for r in rows}


async def lock_tenant(conn: asyncpg.Connection, tenant_id: uuid.UUID) -> Tenant | None:
    row = await conn.fetchrow(f"SELECT {_TENANT} FROM tenants WHERE id = $1 FOR UPDATE", tenant_id)  # noqa: S608
    return Tenant(**dict(row)) if row else None


async def service_client_secret_hash(conn: asyncpg.Connection, client_id: str) -> str | None:
    value = await conn.fetchval("SELECT secret_hash FROM service_clients WHERE id = $1 AND active", client_id)
    return str(value) if value else None


async def save_service_client(conn: asyncpg.Connection, client_id: str, secret_hash: str) -> None:
    await conn.execute(
        """INSERT INTO service_clients (id, secret_hash) VALUES ($1, $2)
           ON CONFLICT (id) DO UPDATE SET secret_hash = EXCLUDED.secret_hash, active = true""",
        client_id, secret_hash,
    )
