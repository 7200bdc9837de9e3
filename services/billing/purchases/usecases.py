"""Purchases' actions, one transaction each: start one with its checkout, read one or a page, and mark one
credited when the ledger says so. Its payment is recorded by `payments.usecases`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

from common import inbox, keyset
from common.contracts import queues
from common.contracts.billing import PurchasesQuery
from common.logs import get_logger
from services.billing.payments.provider import PaymentProvider
from services.billing.price_lists import domain as pricing
from services.billing.price_lists import store as price_lists
from services.billing.profiles import store as profiles
from services.billing.purchases import domain, store
from services.billing.purchases.domain import Purchase, PurchaseOrder
from services.billing.topups import outcomes as top_ups

log = get_logger(__name__)


async def start_purchase(
    pool: asyncpg.Pool, provider: PaymentProvider, order: PurchaseOrder
) -> tuple[Purchase, bool]:
    """The pending purchase and its checkout; True when created now, False for a replay of the key."""
    domain.check_account(order.tenant_id, order.account_id, order.account_code)
    purchase_id = uuid.uuid4()
    async with pool.acquire() as conn, conn.transaction():
        quote = pricing.quote(await price_lists.load_price_list(conn, order.tenant_id), order.quantity)
        # A concurrent request with the same key waits here on the unique index until ours commits,
        # then inserts nothing and reads ours below.
        if await store.insert_purchase(conn, purchase_id, order, quote):
            session = await provider.open_checkout(conn, domain.checkout_order(purchase_id, order, quote))
            await store.set_checkout(conn, purchase_id, session)
            await profiles.save_billing_details(conn, order.tenant_id, order.buyer_user_id, order.billing)
            created = True
        else:
            created = False
        found = await store.find_by_idempotency_key(conn, order.tenant_id, order.idempotency_key)
    assert found is not None
    purchase, fingerprint = found
    if fingerprint != order.fingerprint():
        raise domain.IdempotencyKeyReused()
    if created:
        log.info("purchase_started", purchase_id=str(purchase.id), quantity=order.quantity)
    return purchase, created


async def purchase_of(pool: asyncpg.Pool, tenant_id: uuid.UUID, purchase_id: uuid.UUID) -> Purchase:
    async with pool.acquire() as conn:
        purchase = await store.get_purchase(conn, tenant_id, purchase_id)
    if purchase is None:
        raise domain.PurchaseNotFound()
    return purchase


@dataclass(frozen=True)
class PurchaseRows:
    """A page of purchases, and the cursor of the next page (None: the last)."""

    purchases: list[Purchase]
    next_cursor: str | None


async def purchases_page(pool: asyncpg.Pool, tenant_id: uuid.UUID, query: PurchasesQuery) -> PurchaseRows:
    """A page of the tenant's purchases, newest first (see PurchasesQuery for the filters)."""
    domain.check_scope(query.scope, query.account)
    before = keyset.decode_cursor(query.cursor)
    since = query.since or keyset.BEGINNING_OF_TIME
    until = query.until or keyset.END_OF_TIME
    async with pool.acquire() as conn:
        found = await store.purchases_page(conn, tenant_id, list(dict.fromkeys(query.account)),
                                           query.scope != "users", since, until, before, query.limit + 1)
    page = found[: query.limit]
    last = keyset.Cursor(page[-1].created_at, page[-1].id) if page else None
    return PurchaseRows(page, keyset.next_cursor(len(found), query.limit, last))


async def record_credited(
    pool: asyncpg.Pool, event_id: uuid.UUID, tenant_id: uuid.UUID, purchase_id: uuid.UUID, seq: int
) -> bool:
    """The ledger has credited the purchase; True when this delivery marked it."""
    async with pool.acquire() as conn, conn.transaction():
        purchase = await store.lock_purchase(conn, purchase_id)
        if purchase is None or purchase.tenant_id != tenant_id:
            log.warning("ledger_posting_for_unknown_purchase", purchase_id=str(purchase_id))
            return False
        if not await inbox.first_delivery(conn, queues.BILLING_LEDGER_EVENTS.name, event_id):
            return False
        if not domain.may_move(purchase.status, "credited"):
            log.info("ledger_posting_ignored", purchase_id=str(purchase_id), status=purchase.status)
            return False
        await store.mark_credited(conn, purchase_id, seq)
        await top_ups.purchase_credited(conn, purchase, seq)
    log.info("purchase_credited", purchase_id=str(purchase_id), consistency_token=seq)
    return True
