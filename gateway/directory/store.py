"""The directory's SQL."""

from __future__ import annotations

import uuid

import asyncpg

from gateway.directory.domain import Person, Tenant
from gateway.directory.onboarding import PasswordLink

_PERSON = "id, tenant_id, email, name, role, team, active, send_sms, manage_credits"
_TENANT = "id, name, legal_name, abn, credit_mode, timezone, low_balance_threshold, refund_undelivered"
_PERSON_FIELDS = tuple(_PERSON.split(", "))
_TENANT_FIELDS = tuple(_TENANT.split(", "))


async def credentials_by_email(conn: asyncpg.Connection, email: str) -> tuple[Person, str | None] | None:
    """A person and their password hash (None until they set a password from their invitation)."""
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


async def tenant_ids(conn: asyncpg.Connection) -> list[uuid.UUID]:
    return [r["id"] for r in await conn.fetch("SELECT id FROM tenants ORDER BY id")]


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


async def insert_person(
    conn: asyncpg.Connection, p: Person, password_hash: str | None, external_id: str | None = None
) -> bool:
    """Add a person unless one with this email (or this tenant's external id) exists; True when added.
    With no password hash, the person sets one from an emailed link before signing in."""
    added = await conn.fetchval(
        """INSERT INTO users (id, tenant_id, email, name, password_hash, role, team, active,
                              send_sms, manage_credits, external_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
           ON CONFLICT DO NOTHING RETURNING true""",
        p.id, p.tenant_id, p.email, p.name, password_hash, p.role, p.team, p.active,
        p.send_sms, p.manage_credits, external_id,
    )
    return bool(added)


async def update_person(conn: asyncpg.Connection, user_id: uuid.UUID, changes: dict[str, object]) -> tuple[Person, int]:
    """Apply the changed fields (names come from a fixed list, values are parameters); answers the
    person as they are now and their new directory version."""
    allowed = ("active", "send_sms", "manage_credits", "team", "role", "name", "email")
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


async def set_refund_policy(conn: asyncpg.Connection, tenant_id: uuid.UUID, refund: bool) -> tuple[Tenant, int]:
    row = await conn.fetchrow(
        f"""UPDATE tenants SET refund_undelivered = $2, version = version + 1 WHERE id = $1
            RETURNING {_TENANT}, version""",  # noqa: S608
        tenant_id, refund,
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


async def save_service_client(
    conn: asyncpg.Connection, client_id: str, secret_hash: str, tenant_id: uuid.UUID | None = None
) -> None:
    """Create or rotate a client; its tenant binding is set to `tenant_id` (None: bound to none)."""
    await conn.execute(
        """INSERT INTO service_clients (id, secret_hash, tenant_id) VALUES ($1, $2, $3)
           ON CONFLICT (id) DO UPDATE SET secret_hash = EXCLUDED.secret_hash, active = true,
                                          tenant_id = EXCLUDED.tenant_id""",
        client_id, secret_hash, tenant_id,
    )


async def service_client_tenant(conn: asyncpg.Connection, client_id: str) -> uuid.UUID | None:
    """The tenant an active internal system is bound to, if any."""
    value = await conn.fetchval("SELECT tenant_id FROM service_clients WHERE id = $1 AND active", client_id)
    return value if isinstance(value, uuid.UUID) else None


async def person_by_email(conn: asyncpg.Connection, email: str) -> Person | None:
    row = await conn.fetchrow(f"SELECT {_PERSON} FROM users WHERE lower(email) = lower($1)", email)  # noqa: S608
    return Person(**dict(row)) if row else None


async def person_by_external_id(conn: asyncpg.Connection, tenant_id: uuid.UUID, external_id: str) -> Person | None:
    """The tenant's person the CRM knows by this id, locked for the change about to be made."""
    row = await conn.fetchrow(
        f"SELECT {_PERSON} FROM users WHERE tenant_id = $1 AND external_id = $2 FOR UPDATE",  # noqa: S608
        tenant_id, external_id,
    )
    return Person(**dict(row)) if row else None


async def link_external_id(
    conn: asyncpg.Connection, tenant_id: uuid.UUID, email: str, external_id: str
) -> Person | None:
    """Give the CRM's id to the tenant's person with this email, if they have none yet; answers them."""
    row = await conn.fetchrow(
        f"""UPDATE users SET external_id = $3
            WHERE tenant_id = $1 AND lower(email) = lower($2) AND external_id IS NULL
            RETURNING {_PERSON}""",  # noqa: S608
        tenant_id, email, external_id,
    )
    return Person(**dict(row)) if row else None


async def lock_key(conn: asyncpg.Connection, key: str) -> None:
    """Serialise the transactions that name the same key (released at commit or rollback)."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", key)


async def tenant_creation(conn: asyncpg.Connection, operator_id: uuid.UUID, key: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT fingerprint, tenant_id, master_id FROM tenant_creations
           WHERE operator_id = $1 AND idempotency_key = $2""",
        operator_id, key,
    )


async def record_tenant_creation(
    conn: asyncpg.Connection, operator_id: uuid.UUID, key: str, fingerprint: str, tenant_id: uuid.UUID,
    master_id: uuid.UUID,
) -> None:
    await conn.execute(
        """INSERT INTO tenant_creations (operator_id, idempotency_key, fingerprint, tenant_id, master_id)
           VALUES ($1, $2, $3, $4, $5)""",
        operator_id, key, fingerprint, tenant_id, master_id,
    )


async def add_password_link(conn: asyncpg.Connection, link: PasswordLink, token_hash: bytes) -> None:
    await conn.execute(
        """INSERT INTO password_tokens (id, user_id, purpose, token_hash, expires_at, used_at)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        link.id, link.user_id, link.purpose, token_hash, link.expires_at, link.used_at,
    )


_LINK = "t.id, t.user_id, t.purpose, t.expires_at, t.used_at"


async def password_link_by_hash(
    conn: asyncpg.Connection, token_hash: bytes, lock: bool = False
) -> tuple[PasswordLink, Person] | None:
    """The link a token names, with its person; locked when it is about to be used."""
    row = await conn.fetchrow(
        f"SELECT {_LINK}, {', '.join('u.' + f + ' AS u_' + f for f in _PERSON_FIELDS)} "  # noqa: S608
        "FROM password_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1"
        + (" FOR UPDATE OF t, u" if lock else ""),
        token_hash,
    )
    if row is None:
        return None
    link = PasswordLink(row["id"], row["user_id"], row["purpose"], row["expires_at"], row["used_at"])
    return link, Person(**{f: row["u_" + f] for f in _PERSON_FIELDS})


async def password_link_to_send(conn: asyncpg.Connection, link_id: uuid.UUID) -> asyncpg.Record | None:
    """What an email about a link says: its purpose and expiry, whose it is, and their tenant's name."""
    return await conn.fetchrow(
        f"""SELECT {_LINK}, u.name, u.email, tn.name AS tenant_name
            FROM password_tokens t JOIN users u ON u.id = t.user_id LEFT JOIN tenants tn ON tn.id = u.tenant_id
            WHERE t.id = $1""",  # noqa: S608
        link_id,
    )


async def set_password(conn: asyncpg.Connection, user_id: uuid.UUID, password_hash: str) -> None:
    """Set the password, and use up every link of the person still open: each sets a password once."""
    await conn.execute("UPDATE users SET password_hash = $2 WHERE id = $1", user_id, password_hash)
    await conn.execute(
        "UPDATE password_tokens SET used_at = now() WHERE user_id = $1 AND used_at IS NULL", user_id
    )
