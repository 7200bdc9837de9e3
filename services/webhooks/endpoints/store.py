"""The SQL of endpoints."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import asyncpg

from common.contracts.webhooks import Endpoint


def endpoint_of(row: asyncpg.Record) -> Endpoint:
    return Endpoint(**{key: row[key] for key in Endpoint.model_fields})


async def insert(conn: asyncpg.Connection, endpoint_id: uuid.UUID, tenant_id: uuid.UUID, fields: dict[str, Any],
                 idempotency_key: str | None) -> asyncpg.Record | None:
    """The new endpoint's row (with its secret), or None when this idempotency key already made one."""
    return await conn.fetchrow(
        """INSERT INTO endpoints (id, tenant_id, url, description, event_types, secret, created_by, creator_email,
                                   idempotency_key)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
            ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
            RETURNING id, url, event_types, description, enabled, disabled_reason, created_at, secret""",
        endpoint_id, tenant_id, fields["url"], fields["description"], fields["event_types"], fields["secret"],
        fields["created_by"], fields["creator_email"], idempotency_key,
    )


async def by_idempotency_key(conn: asyncpg.Connection, tenant_id: uuid.UUID, key: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT id, url, event_types, description, enabled, disabled_reason, created_at, secret
           FROM endpoints WHERE tenant_id = $1 AND idempotency_key = $2""",
        tenant_id, key,
    )


async def of_tenant(conn: asyncpg.Connection, tenant_id: uuid.UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT id, url, event_types, description, enabled, disabled_reason, created_at
           FROM endpoints WHERE tenant_id = $1 ORDER BY created_at, id""",
        tenant_id,
    )


async def one(conn: asyncpg.Connection, tenant_id: uuid.UUID, endpoint_id: uuid.UUID,
              for_update: bool = False) -> asyncpg.Record | None:
    if for_update:
        return await conn.fetchrow(
            """SELECT id, url, event_types, description, enabled, disabled_reason, created_at, rotation_key, secret
               FROM endpoints WHERE tenant_id = $1 AND id = $2 FOR UPDATE""",
            tenant_id, endpoint_id,
        )
    return await conn.fetchrow(
        """SELECT id, url, event_types, description, enabled, disabled_reason, created_at, rotation_key, secret
           FROM endpoints WHERE tenant_id = $1 AND id = $2""",
        tenant_id, endpoint_id,
    )


async def update(conn: asyncpg.Connection, endpoint_id: uuid.UUID, url: str, event_types: list[str],
                 description: str | None, enabled: bool) -> asyncpg.Record:
    """Re-enabling clears why it was disabled."""
    row = await conn.fetchrow(
        """UPDATE endpoints SET url = $2, event_types = $3, description = $4, enabled = $5,
                   disabled_reason = CASE WHEN $5 THEN NULL ELSE coalesce(disabled_reason, 'disabled by a master') END
            WHERE id = $1 RETURNING id, url, event_types, description, enabled, disabled_reason, created_at""",
        endpoint_id, url, event_types, description, enabled,
    )
    assert row is not None
    return row


async def delete(conn: asyncpg.Connection, tenant_id: uuid.UUID, endpoint_id: uuid.UUID) -> bool:
    deleted = await conn.fetchval(
        "DELETE FROM endpoints WHERE tenant_id = $1 AND id = $2 RETURNING true", tenant_id, endpoint_id
    )
    return bool(deleted)


async def rotate(conn: asyncpg.Connection, endpoint_id: uuid.UUID, secret: str, overlap: timedelta,
                 rotation_key: str | None) -> asyncpg.Record:
    row = await conn.fetchrow(
        """UPDATE endpoints SET previous_secret = secret, previous_secret_expires_at = now() + $3::interval,
                                secret = $2, rotation_key = $4
           WHERE id = $1 RETURNING secret, previous_secret_expires_at""",
        endpoint_id, secret, overlap, rotation_key,
    )
    assert row is not None
    return row


async def previous_secret_expiry(conn: asyncpg.Connection, endpoint_id: uuid.UUID) -> asyncpg.Record:
    row = await conn.fetchrow(
        "SELECT secret, previous_secret_expires_at FROM endpoints WHERE id = $1", endpoint_id
    )
    assert row is not None
    return row
