"""Refunds, billing's side of the saga, one transaction per step (each with its outbox row).

1. `request_refund`: a master asks; the refund is recorded `requested` and `billing.refund.requested`
   goes to the ledger, which takes the credits back first.
2. `credits_debited` (the ledger's `ledger.refund.debited`): the provider gives the money back, then
   the refund is `refunded` with its adjustment note; or the provider refuses, the refund is `failed`
   and `billing.refund.failed` asks the ledger to restore the credits.
3. `credits_rejected` / `credits_restored`: the ledger's other answers, recorded.

A crash between the provider's refund and our commit is safe: the provider call is idempotent by the
refund's id, and the ledger's event is redelivered (or the sweeper finds the refund still `debited`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg

from common.contracts import events
from common.contracts.events import Event
from common.identity import Identity
from common.logs import get_logger
from common.outbox import enqueue
from services.billing.emails import store as email_outbox
from services.billing.invoices import store as invoices
from services.billing.payments.provider import PaymentProvider, RefundDeclined, RefundOrder
from services.billing.purchases import store as purchases
from services.billing.purchases.domain import IdempotencyKeyReused, Purchase, PurchaseNotFound, purchase_event
from services.billing.refunds import domain, store
from services.billing.refunds.domain import Refund

log = get_logger(__name__)


async def request_refund(
    pool: asyncpg.Pool, identity: Identity, purchase_id: uuid.UUID, quantity: int, key: str
) -> tuple[Refund, bool]:
    """The refund and True when recorded now; a replayed key answers the refund as it is (False)."""
    tenant_id, master_id = domain.master_of(identity)
    fingerprint = domain.fingerprint(purchase_id, quantity)
    refund_id = uuid.uuid4()
    async with pool.acquire() as conn, conn.transaction():
        # The purchase lock queues refunds of one purchase, so each sees what the others took.
        purchase = await purchases.lock_purchase(conn, purchase_id)
        if purchase is None or purchase.tenant_id != tenant_id:
            raise PurchaseNotFound()
        found = await store.find_by_key(conn, tenant_id, key)
        if found is None:
            so_far = await store.refunded_so_far(conn, purchase_id)
            domain.check_refund(purchase, quantity, so_far)
            amounts = domain.allocate(purchase.quote, so_far, quantity)
            if await store.insert_refund(
                conn, refund_id, purchase_id, tenant_id, master_id, quantity, amounts, key, fingerprint
            ):
                await enqueue(conn, _requested_event(purchase, refund_id, quantity, master_id))
            found = await store.find_by_key(conn, tenant_id, key)
    assert found is not None
    refund, stored_fingerprint = found
    if stored_fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    created = refund.id == refund_id
    if created:
        log.info("refund_requested", refund_id=str(refund.id), purchase_id=str(purchase_id), quantity=quantity)
    return refund, created


def _requested_event(purchase: Purchase, refund_id: uuid.UUID, quantity: int, master_id: uuid.UUID) -> Event:
    assert purchase.invoice_number is not None  # a refundable purchase was paid
    payload = events.RefundRequested(
        refund_id=refund_id, purchase_id=purchase.id, tenant_id=purchase.tenant_id,
        account_id=purchase.account_id, account_code=purchase.account_code, quantity=quantity,
        requested_by=master_id, invoice_number=purchase.invoice_number,
    )
    return purchase_event(events.REFUND_REQUESTED, purchase, payload)


async def refund_of(
    pool: asyncpg.Pool, tenant_id: uuid.UUID, purchase_id: uuid.UUID, refund_id: uuid.UUID
) -> Refund:
    async with pool.acquire() as conn:
        refund = await store.get_refund(conn, tenant_id, purchase_id, refund_id)
    if refund is None:
        raise domain.RefundNotFound()
    return refund


async def refunds_of(pool: asyncpg.Pool, tenant_id: uuid.UUID, purchase_id: uuid.UUID) -> list[Refund]:
    async with pool.acquire() as conn:
        if await purchases.get_purchase(conn, tenant_id, purchase_id) is None:
            raise PurchaseNotFound()
        return await store.refunds_of_purchase(conn, tenant_id, purchase_id)


async def credits_debited(pool: asyncpg.Pool, provider: PaymentProvider, debited: events.RefundDebited) -> None:
    """The ledger took the credits back: record it, then give the money back. A redelivered event finds
    the refund debited already (its status is the de-duplication) and only drives the money on."""
    async with pool.acquire() as conn, conn.transaction():
        refund = await store.lock_refund(conn, debited.refund_id)
        if refund is None or refund.tenant_id != debited.tenant_id:
            log.warning("ledger_debit_for_unknown_refund", refund_id=str(debited.refund_id))
            return
        if domain.may_step(refund.status, "debited"):
            await store.mark_debited(conn, refund.id, debited.seq)
    await settle(pool, provider, debited.refund_id)


async def settle(pool: asyncpg.Pool, provider: PaymentProvider, refund_id: uuid.UUID) -> None:
    """Give a debited refund's money back through the provider and record the outcome."""
    async with pool.acquire() as conn:
        refund = await store.load_refund(conn, refund_id)
        purchase = await purchases.get_purchase(conn, refund.tenant_id, refund.purchase_id) if refund else None
    if refund is None or purchase is None or refund.status != "debited":
        return
    try:
        provider_refund_id = await _give_money_back(pool, provider, refund, purchase)
    except RefundDeclined as exc:
        await _provider_refused(pool, refund.id, exc.reason)
        return
    await _money_returned(pool, refund.id, provider_refund_id)


async def _give_money_back(pool: asyncpg.Pool, provider: PaymentProvider, refund: Refund, purchase: Purchase) -> str:
    if refund.amounts.total_cents == 0:
        return "no-money-moved"  # credits bought for nothing are refunded for nothing
    if purchase.checkout_session_id is None:
        raise RefundDeclined("no_payment_to_refund")
    order = RefundOrder(refund.id, purchase.id, purchase.checkout_session_id, refund.amounts.total_cents,
                        purchase.quote.currency)
    return await provider.refund(pool, order)


async def _money_returned(pool: asyncpg.Pool, refund_id: uuid.UUID, provider_refund_id: str) -> None:
    async with pool.acquire() as conn, conn.transaction():
        refund = await store.lock_refund(conn, refund_id)
        if refund is None or not domain.may_step(refund.status, "refunded"):
            return
        purchase = await purchases.get_purchase(conn, refund.tenant_id, refund.purchase_id)
        assert purchase is not None and purchase.invoice_number is not None
        number = await invoices.allocate_note_number(conn, refund.tenant_id)
        await store.mark_refunded(conn, refund.id, provider_refund_id, number, datetime.now(UTC))
        payload = events.RefundCompleted(
            refund_id=refund.id, purchase_id=purchase.id, tenant_id=purchase.tenant_id,
            account_id=purchase.account_id, quantity=refund.quantity, total_cents=refund.amounts.total_cents,
            tax_cents=refund.amounts.tax_cents, currency=purchase.quote.currency, adjustment_note_number=number,
            invoice_number=purchase.invoice_number,
        )
        await enqueue(conn, purchase_event(events.REFUND_COMPLETED, purchase, payload))
        await email_outbox.owe(conn, purchase.tenant_id, "adjustment_note", refund.id, purchase.billing.email)
    log.info("refund_completed", refund_id=str(refund_id), adjustment_note=number,
             total_cents=refund.amounts.total_cents)


async def _provider_refused(pool: asyncpg.Pool, refund_id: uuid.UUID, reason: str) -> None:
    async with pool.acquire() as conn, conn.transaction():
        refund = await store.lock_refund(conn, refund_id)
        if refund is None or not domain.may_step(refund.status, "failed"):
            return
        purchase = await purchases.get_purchase(conn, refund.tenant_id, refund.purchase_id)
        assert purchase is not None
        await store.mark_failed(conn, refund.id, reason)
        payload = events.RefundFailed(
            refund_id=refund.id, purchase_id=purchase.id, tenant_id=purchase.tenant_id,
            account_id=purchase.account_id, account_code=purchase.account_code, quantity=refund.quantity,
            reason=reason, requested_by=refund.requested_by,
        )
        await enqueue(conn, purchase_event(events.REFUND_FAILED, purchase, payload))
    log.error("refund_refused_by_provider", refund_id=str(refund_id), reason=reason,
              quantity=refund.quantity, next_step="ledger restores the credits")


async def credits_rejected(pool: asyncpg.Pool, rejected: events.RefundRejected) -> None:
    async with pool.acquire() as conn, conn.transaction():
        refund = await store.lock_refund(conn, rejected.refund_id)
        if refund is None or not domain.may_step(refund.status, "rejected"):
            return
        await store.mark_rejected(conn, refund.id, rejected.reason)
    log.info("refund_rejected_by_ledger", refund_id=str(rejected.refund_id), available=rejected.available,
             quantity=rejected.quantity)


async def credits_restored(pool: asyncpg.Pool, restored: events.RefundRestored) -> None:
    async with pool.acquire() as conn, conn.transaction():
        marked = await store.mark_restored(conn, restored.refund_id)
    if marked:
        log.info("refund_credits_restored", refund_id=str(restored.refund_id), quantity=restored.quantity,
                 ledger_seq=restored.seq)


async def settle_stalled(pool: asyncpg.Pool, provider: PaymentProvider, older_than: float) -> int:
    """Drive on refunds whose money a crash left not given back (see `store.stalled`)."""
    async with pool.acquire() as conn:
        stalled = await store.stalled(conn, older_than)
    for refund_id in stalled:
        await settle(pool, provider, refund_id)
    return len(stalled)
