"""Quotes for buyers, and the operator's price lists: each tenant's tiers, tax, currency and how long the
credits bought last. A purchase copies the prices and the validity it was quoted, so changing a list changes
no purchase already made."""

from __future__ import annotations

import dataclasses
import uuid

import asyncpg

from common.identity import Identity
from common.logs import get_logger
from services.billing.price_lists import domain, store
from services.billing.price_lists.domain import PriceList, Quote

log = get_logger(__name__)


async def quote_for(pool: asyncpg.Pool, tenant_id: uuid.UUID, quantity: int) -> Quote:
    async with pool.acquire() as conn:
        price_list = await store.load_price_list(conn, tenant_id)
    return domain.quote(price_list, quantity)


async def set_for_tenant(
    pool: asyncpg.Pool, identity: Identity, tenant_id: uuid.UUID, price_list: PriceList, keeps_validity: bool = False
) -> PriceList:
    """Replace the tenant's price list. `keeps_validity`: the request left the credits' validity out, so the
    validity the tenant buys under now (its own list's, else the default's) carries over: new prices sent
    by a client that knows nothing of expiry must not quietly change how long credits last."""
    identity.require_operator("Only operators manage price lists.")
    async with pool.acquire() as conn, conn.transaction():
        if keeps_validity:
            in_force = await store.load_price_list(conn, tenant_id)
            price_list = dataclasses.replace(price_list, credit_validity_months=in_force.credit_validity_months)
        await store.save_price_list(conn, tenant_id, price_list)
        saved = await store.load_price_list(conn, tenant_id)
    log.info("price_list_set", tenant_id=str(tenant_id), currency=saved.currency, tiers=len(saved.tiers),
             credit_validity_months=saved.credit_validity_months)
    return saved


async def of_tenant(pool: asyncpg.Pool, identity: Identity, tenant_id: uuid.UUID) -> tuple[PriceList, bool]:
    """The tenant's price list, and whether it is its own (False: the default everyone else pays). An operator
    reads any tenant's; a tenant's people read their own (the prices they are quoted, shown before they buy)."""
    if identity.tenant_id != tenant_id:
        identity.require_operator("Only operators manage price lists.")
    async with pool.acquire() as conn:
        return await store.load_price_list(conn, tenant_id), await store.has_own_price_list(conn, tenant_id)
