"""Copying the directory's changes, one transaction each, and reading what the replica knows."""

from __future__ import annotations

import uuid

import asyncpg

from common.accounts import user_code
from common.contracts import queues
from common.contracts.events import TenantChanged, UserChanged
from common.inbox import first_delivery
from services.reporting.directory import store
from services.reporting.directory.domain import FALLBACK_TIMEZONE, Directory


async def record_tenant(pool: asyncpg.Pool, event_id: uuid.UUID, change: TenantChanged) -> bool:
    """Copy a tenant's name and time zone; False for a duplicate or a version older than the one held."""
    async with pool.acquire() as conn, conn.transaction():
        if not await first_delivery(conn, queues.REPORTING_DIRECTORY.name, event_id):
            return False
        return await store.upsert_tenant(conn, change.tenant_id, change.name, change.timezone, change.version)


async def record_user(pool: asyncpg.Pool, event_id: uuid.UUID, change: UserChanged) -> bool:
    """Copy a person's name; False for a duplicate or a version older than the one held."""
    async with pool.acquire() as conn, conn.transaction():
        if not await first_delivery(conn, queues.REPORTING_DIRECTORY.name, event_id):
            return False
        return await store.upsert_user(conn, change.user_id, change.tenant_id, change.name, change.version)


async def directory_of(conn: asyncpg.Connection, tenant_id: uuid.UUID) -> Directory:
    """The tenant as the replica knows it, read on the caller's connection (inside its snapshot)."""
    facts = await store.tenant_facts(conn, tenant_id)
    names = {user_code(user_id): name for user_id, name in (await store.user_names(conn, tenant_id)).items()}
    if facts is None:
        return Directory(tenant_id=tenant_id, names=names)
    return Directory(tenant_id, facts["name"], facts["timezone"] or FALLBACK_TIMEZONE, names)
