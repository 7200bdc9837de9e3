"""Managing a tenant's endpoints, one transaction each. The target of a URL is checked (the SSRF guard) when
it is given, before anything is stored."""

from __future__ import annotations

import uuid

import asyncpg

from common.contracts.webhooks import CreatedEndpoint, Endpoint, EndpointChanges, EndpointOrder, RotatedSecret
from common.identity import Identity
from services.webhooks.endpoints import domain, store
from services.webhooks.targets.domain import parse_target
from services.webhooks.targets.resolver import checked_addresses


async def _checked_url(url: str, allow_private: bool) -> str:
    """The URL, once its form is valid and (unless private targets are allowed, when there is nothing to
    refuse) every address its host resolves to is a public one."""
    target = parse_target(url)
    if not allow_private:
        await checked_addresses(target, allow_private=False)
    return url


def _created(row: asyncpg.Record) -> CreatedEndpoint:
    return CreatedEndpoint(**store.endpoint_of(row).model_dump(), secret=row["secret"])


async def create(pool: asyncpg.Pool, identity: Identity, order: EndpointOrder, idempotency_key: str | None,
                 allow_private: bool) -> tuple[CreatedEndpoint, bool]:
    """The endpoint and whether it is new (False: this key made it before, and its answer is given again)."""
    tenant_id = domain.require_master(identity)
    event_types = domain.wanted_types(order.event_types)
    url = await _checked_url(order.url, allow_private)
    fields = {"url": url, "description": order.description, "event_types": event_types,
              "secret": domain.new_secret(), "created_by": identity.user_id, "creator_email": order.creator_email}
    async with pool.acquire() as conn, conn.transaction():
        row = await store.insert(conn, uuid.uuid4(), tenant_id, fields, idempotency_key)
        if row is not None:
            return _created(row), True
        assert idempotency_key is not None
        earlier = await store.by_idempotency_key(conn, tenant_id, idempotency_key)
    assert earlier is not None
    return _created(earlier), False


async def endpoints_of(pool: asyncpg.Pool, identity: Identity) -> list[Endpoint]:
    tenant_id = domain.require_master(identity)
    async with pool.acquire() as conn:
        return [store.endpoint_of(row) for row in await store.of_tenant(conn, tenant_id)]


async def endpoint(pool: asyncpg.Pool, identity: Identity, endpoint_id: uuid.UUID) -> Endpoint:
    tenant_id = domain.require_master(identity)
    async with pool.acquire() as conn:
        row = await store.one(conn, tenant_id, endpoint_id)
    if row is None:
        raise domain.WebhookNotFound()
    return store.endpoint_of(row)


async def change(pool: asyncpg.Pool, identity: Identity, endpoint_id: uuid.UUID, changes: EndpointChanges,
                 allow_private: bool) -> Endpoint:
    """Change the URL, the event types, the description or whether it is enabled; re-enabling one that was
    disabled after failing lets its waiting deliveries go again, oldest first."""
    tenant_id = domain.require_master(identity)
    event_types = domain.wanted_types(changes.event_types) if changes.event_types is not None else None
    url = await _checked_url(changes.url, allow_private) if changes.url is not None else None
    async with pool.acquire() as conn, conn.transaction():
        row = await store.one(conn, tenant_id, endpoint_id, for_update=True)
        if row is None:
            raise domain.WebhookNotFound()
        description = changes.description if "description" in changes.model_fields_set else row["description"]
        updated = await store.update(
            conn, endpoint_id, url or row["url"], event_types or list(row["event_types"]), description,
            row["enabled"] if changes.enabled is None else changes.enabled,
        )
    return store.endpoint_of(updated)


async def remove(pool: asyncpg.Pool, identity: Identity, endpoint_id: uuid.UUID) -> None:
    """Delete the endpoint with its delivery log; nothing more is sent to it."""
    tenant_id = domain.require_master(identity)
    async with pool.acquire() as conn:
        if not await store.delete(conn, tenant_id, endpoint_id):
            raise domain.WebhookNotFound()


async def rotate_secret(pool: asyncpg.Pool, identity: Identity, endpoint_id: uuid.UUID,
                        idempotency_key: str | None) -> RotatedSecret:
    """A new secret; the one it replaces still signs (beside it) for PREVIOUS_SECRET_VALID. The same
    idempotency key again answers the secret it made rather than rotating twice (which would end the
    overlap of the secret the receiver still has)."""
    tenant_id = domain.require_master(identity)
    async with pool.acquire() as conn, conn.transaction():
        row = await store.one(conn, tenant_id, endpoint_id, for_update=True)
        if row is None:
            raise domain.WebhookNotFound()
        if idempotency_key is not None and row["rotation_key"] == idempotency_key:
            rotated = await store.previous_secret_expiry(conn, endpoint_id)
        else:
            rotated = await store.rotate(conn, endpoint_id, domain.new_secret(), domain.PREVIOUS_SECRET_VALID,
                                         idempotency_key)
    return RotatedSecret(secret=rotated["secret"], previous_secret_expires_at=rotated["previous_secret_expires_at"])
