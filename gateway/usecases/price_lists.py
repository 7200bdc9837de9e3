"""Operator actions on billing: a tenant's price list (tiers, tax rate, currency)."""

from __future__ import annotations

import uuid

import asyncpg

from gateway.clients.billing import BillingClient
from gateway.schemas.billing import PriceListRequest, PriceListView
from gateway.usecases.directory import require_operator, tenant_for_operator
from gateway.usecases.identity import identity_for
from gateway.web.auth import Caller

OPERATORS_ONLY = "Only platform operators manage price lists."


def authorise(caller: Caller) -> None:
    require_operator(caller, OPERATORS_ONLY)


async def set_price_list(
    pool: asyncpg.Pool, billing: BillingClient, caller: Caller, tenant_id: uuid.UUID, prices: PriceListRequest
) -> PriceListView:
    authorise(caller)
    tenant = await tenant_for_operator(pool, tenant_id)
    return await billing.set_price_list(identity_for(caller), tenant.id, prices)


async def price_list(pool: asyncpg.Pool, billing: BillingClient, caller: Caller, tenant_id: uuid.UUID) -> PriceListView:
    authorise(caller)
    tenant = await tenant_for_operator(pool, tenant_id)
    return await billing.price_list(identity_for(caller), tenant.id)
