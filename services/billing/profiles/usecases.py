"""Billing profiles' actions: follow the directory's names (people's, and tenants' for their document
prefixes), and show a person what billing keeps for their next purchase."""

from __future__ import annotations

import uuid

import asyncpg

from common import inbox
from common.contracts import queues
from common.contracts.events import TenantChanged, UserChanged
from common.identity import Identity
from common.problems import Forbidden
from services.billing.invoices import store as invoices
from services.billing.payments.provider import SavedCard
from services.billing.profiles import store
from services.billing.purchases.domain import BillingDetails, tenant_of


async def user_changed(pool: asyncpg.Pool, event_id: uuid.UUID, change: UserChanged) -> None:
    """Keep the newest name; an older version arriving late changes nothing."""
    async with pool.acquire() as conn, conn.transaction():
        if not await inbox.first_delivery(conn, queues.BILLING_DIRECTORY.name, event_id):
            return
        await store.keep_name(conn, change)


async def tenant_changed(pool: asyncpg.Pool, event_id: uuid.UUID, change: TenantChanged) -> None:
    """The first name billing hears for a tenant gives its tax documents their number prefix (unless a
    document was numbered before, from its id); a later rename keeps the prefix numbers were issued with."""
    async with pool.acquire() as conn, conn.transaction():
        if not await inbox.first_delivery(conn, queues.BILLING_DIRECTORY.name, event_id):
            return
        await invoices.assign_prefix(conn, change.tenant_id, change.name)


async def profile_of(
    pool: asyncpg.Pool, identity: Identity, provider_name: str
) -> tuple[BillingDetails | None, SavedCard | None]:
    """The caller's last billing details and saved card, offered on their next purchase."""
    tenant_id = tenant_of(identity)
    if identity.user_id is None:
        raise Forbidden("Billing details belong to a person: call with a user's identity.")
    async with pool.acquire() as conn:
        details = await store.billing_details_of(conn, tenant_id, identity.user_id)
        card = await store.saved_card_of(conn, tenant_id, identity.user_id, provider_name)
    return details, card
