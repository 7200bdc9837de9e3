"""Billing's actions, one transaction each: the domain decides, the store writes, the outbox announces."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Literal

import asyncpg

from common import events, inbox
from common.events import Event
from common.logs import get_logger
from common.outbox import enqueue
from services.billing import domain, emails, invoice, profiles, store, topup_outcomes
from services.billing.domain import Purchase, PurchaseOrder, Quote, Seller
from services.billing.providers import CheckoutOrder, PaymentNotice, PaymentProvider

log = get_logger(__name__)

SOURCE = "billing"
LEDGER_EVENTS_CONSUMER = "billing.ledger-events"
# Provider event ids are the provider's own strings; the shared inbox keys on uuids, so each is
# mapped to a stable uuid within this namespace.
_WEBHOOK_EVENT_NAMESPACE = uuid.UUID("0b8f8e53-5d0e-4a59-9a43-63d4b1f0c2a7")

PaymentOutcome = Literal["paid", "failed", "duplicate", "ignored", "unknown_purchase"]


async def quote_for(pool: asyncpg.Pool, tenant_id: uuid.UUID, quantity: int) -> Quote:
    async with pool.acquire() as conn:
        price_list = await store.load_price_list(conn, tenant_id)
    return domain.quote(price_list, quantity)


async def start_purchase(
    pool: asyncpg.Pool, provider: PaymentProvider, order: PurchaseOrder
) -> tuple[Purchase, bool]:
    """The pending purchase and its checkout; True when created now, False for a replay of the key."""
    domain.check_account(order.tenant_id, order.account_id, order.account_code)
    purchase_id = uuid.uuid4()
    async with pool.acquire() as conn, conn.transaction():
        quote = domain.quote(await store.load_price_list(conn, order.tenant_id), order.quantity)
        # A concurrent request with the same key waits here on the unique index until ours commits,
        # then inserts nothing and reads ours below.
        if await store.insert_purchase(conn, purchase_id, order, quote):
            session = await provider.open_checkout(conn, checkout_order(purchase_id, order, quote))
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


def checkout_order(purchase_id: uuid.UUID, order: PurchaseOrder, quote: Quote) -> CheckoutOrder:
    return CheckoutOrder(
        purchase_id, order.tenant_id, order.quantity, quote.total_cents, quote.currency,
        domain.checkout_description(order.quantity), order.buyer_user_id, order.billing.email, order.billing.name,
    )


async def purchase_of(pool: asyncpg.Pool, tenant_id: uuid.UUID, purchase_id: uuid.UUID) -> Purchase:
    async with pool.acquire() as conn:
        purchase = await store.get_purchase(conn, tenant_id, purchase_id)
    if purchase is None:
        raise domain.PurchaseNotFound()
    return purchase


async def invoice_pdf(
    pool: asyncpg.Pool, tenant_id: uuid.UUID, purchase_id: uuid.UUID, timezone: str
) -> tuple[Purchase, bytes]:
    purchase = await purchase_of(pool, tenant_id, purchase_id)
    if not purchase.is_paid:
        raise domain.InvoiceNotReady()
    # Rendering is CPU-bound (layout, fonts): off the event loop.
    pdf = await asyncio.to_thread(invoice.render_pdf, purchase, timezone)
    return purchase, pdf


async def record_payment(
    pool: asyncpg.Pool, provider: PaymentProvider, notice: PaymentNotice, seller: Seller
) -> PaymentOutcome:
    """Apply a provider's verified notice; a repeated, late or stray one changes nothing."""
    async with pool.acquire() as conn, conn.transaction():
        purchase = await store.lock_purchase(conn, notice.purchase_id) if notice.purchase_id else None
        if purchase is None or not _same_payment(purchase, notice):
            log.warning("payment_notice_for_unknown_purchase", session_id=notice.session_id,
                        purchase_id=str(notice.purchase_id), event_id=notice.event_id)
            return "unknown_purchase"
        inbox_id = uuid.uuid5(_WEBHOOK_EVENT_NAMESPACE, f"{provider.name}:{notice.event_id}")
        if not await inbox.first_delivery(conn, f"webhook:{provider.name}", inbox_id):
            return "duplicate"
        target: Literal["paid", "failed"] = "paid" if notice.succeeded else "failed"
        if not domain.may_move(purchase.status, target, provider.failure_is_final):
            log.info("payment_notice_ignored", purchase_id=str(purchase.id), status=purchase.status, target=target)
            return "ignored"
        if notice.session_id and purchase.checkout_session_id is None:
            await store.set_session_id(conn, purchase.id, notice.session_id)
        if notice.succeeded:
            await _purchase_paid(conn, purchase, notice, seller, provider.name)
        else:
            await _purchase_failed(conn, purchase, notice)
    log.info("purchase_settled", purchase_id=str(purchase.id), status=target)
    return target


def _same_payment(purchase: Purchase, notice: PaymentNotice) -> bool:
    """The notice is about this purchase's payment (an off-session charge has none recorded yet)."""
    if purchase.checkout_session_id is None or notice.session_id is None:
        return True
    return purchase.checkout_session_id == notice.session_id


async def _purchase_paid(
    conn: asyncpg.Connection, purchase: Purchase, notice: PaymentNotice, seller: Seller, provider_name: str
) -> None:
    number = domain.format_invoice_number(await store.next_invoice_number(conn, purchase.tenant_id))
    paid_at = datetime.now(UTC)
    names = await profiles.invoice_names(conn, purchase)
    await store.mark_paid(conn, purchase.id, number, notice.card, paid_at, seller, names)
    if notice.saved_card is not None:
        await profiles.save_card(conn, purchase.tenant_id, purchase.buyer_user_id, provider_name, notice.saved_card)
    # The tax invoice is emailed from the outbox: owed now, in the paying transaction.
    await emails.owe(conn, purchase.tenant_id, "tax_invoice", purchase.id, purchase.billing.email)
    paid = events.PurchasePaid(
        purchase_id=purchase.id,
        tenant_id=purchase.tenant_id,
        account_id=purchase.account_id,
        account_code=purchase.account_code,
        quantity=purchase.quote.quantity,
        buyer_user_id=purchase.buyer_user_id,
        invoice_number=number,
        total_cents=purchase.quote.total_cents,
        currency=purchase.quote.currency,
        paid_at=paid_at,
    )
    await enqueue(conn, _event(events.PURCHASE_PAID, purchase, paid))


async def _purchase_failed(conn: asyncpg.Connection, purchase: Purchase, notice: PaymentNotice) -> None:
    reason = notice.failure_code or "payment_failed"
    await store.mark_failed(conn, purchase.id, reason, notice.card)
    failed = events.PurchaseFailed(
        purchase_id=purchase.id, tenant_id=purchase.tenant_id, account_id=purchase.account_id, reason=reason
    )
    await enqueue(conn, _event(events.PURCHASE_FAILED, purchase, failed))
    await topup_outcomes.purchase_failed(conn, purchase, reason)


def _event(event_type: str, purchase: Purchase, payload: events.PurchasePaid | events.PurchaseFailed) -> Event:
    subject = f"{purchase.tenant_id}/{purchase.account_id}"
    return Event.new(type=event_type, source=SOURCE, subject=subject, data=payload)


async def record_credited(
    pool: asyncpg.Pool, event_id: uuid.UUID, tenant_id: uuid.UUID, purchase_id: uuid.UUID, seq: int
) -> bool:
    """The ledger has credited the purchase; True when this delivery marked it."""
    async with pool.acquire() as conn, conn.transaction():
        purchase = await store.lock_purchase(conn, purchase_id)
        if purchase is None or purchase.tenant_id != tenant_id:
            log.warning("ledger_posting_for_unknown_purchase", purchase_id=str(purchase_id))
            return False
        if not await inbox.first_delivery(conn, LEDGER_EVENTS_CONSUMER, event_id):
            return False
        if not domain.may_move(purchase.status, "credited"):
            log.info("ledger_posting_ignored", purchase_id=str(purchase_id), status=purchase.status)
            return False
        await store.mark_credited(conn, purchase_id, seq)
        await topup_outcomes.purchase_credited(conn, purchase, seq)
    log.info("purchase_credited", purchase_id=str(purchase_id), consistency_token=seq)
    return True
