"""A payment's outcome, applied in one transaction: the purchase paid (its invoice numbered and owed by
email, `billing.purchase.paid` in the outbox), a declined attempt recorded on a purchase that stays
pending for another card, or the purchase failed (`billing.purchase.failed`) where no other card can come."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

import asyncpg

from common import inbox
from common.contracts import events
from common.logs import get_logger
from common.outbox import enqueue
from services.billing.emails import store as email_outbox
from services.billing.invoices import store as invoices
from services.billing.payments import domain
from services.billing.payments import store as payments
from services.billing.payments.domain import PaymentOutcome
from services.billing.payments.provider import PaymentNotice, PaymentProvider
from services.billing.price_lists.domain import credits_expire_at
from services.billing.profiles import store as profiles
from services.billing.purchases import store as purchases
from services.billing.purchases.domain import Purchase, Seller, may_move, purchase_event
from services.billing.topups import outcomes as top_ups

log = get_logger(__name__)


async def record_payment(
    pool: asyncpg.Pool, provider: PaymentProvider, notice: PaymentNotice, seller: Seller
) -> PaymentOutcome:
    """Apply a provider's verified notice; a repeated, late or stray one changes nothing."""
    async with pool.acquire() as conn, conn.transaction():
        purchase = await purchases.lock_purchase(conn, notice.purchase_id) if notice.purchase_id else None
        if purchase is None or not domain.same_payment(purchase, notice):
            log.warning("payment_notice_for_unknown_purchase", session_id=notice.session_id,
                        purchase_id=str(notice.purchase_id), event_id=notice.event_id)
            return "unknown_purchase"
        inbox_id = domain.webhook_inbox_id(provider.name, notice.event_id)
        if not await inbox.first_delivery(conn, domain.webhook_inbox(provider.name), inbox_id):
            return "duplicate"
        if domain.decline_keeps_purchase_open(purchase, notice, provider.failure_is_final):
            await payments.record_declined_attempt(conn, purchase.id, notice.failure_code or "payment_failed",
                                                   notice.card)
            log.info("payment_attempt_declined", purchase_id=str(purchase.id), reason=notice.failure_code)
            return "declined"
        target: Literal["paid", "failed"] = "paid" if notice.succeeded else "failed"
        if not may_move(purchase.status, target, provider.failure_is_final):
            log.info("payment_notice_ignored", purchase_id=str(purchase.id), status=purchase.status, target=target)
            return "ignored"
        if notice.session_id and purchase.checkout_session_id is None:
            await purchases.set_session_id(conn, purchase.id, notice.session_id)
        if notice.succeeded:
            await _purchase_paid(conn, purchase, notice, seller, provider.name)
        else:
            await _purchase_failed(conn, purchase, notice)
    log.info("purchase_settled", purchase_id=str(purchase.id), status=target)
    return target


async def _purchase_paid(
    conn: asyncpg.Connection, purchase: Purchase, notice: PaymentNotice, seller: Seller, provider_name: str
) -> None:
    number = await invoices.allocate_invoice_number(conn, purchase.tenant_id)
    paid_at = datetime.now(UTC)
    names = await profiles.invoice_names(conn, purchase)
    await purchases.mark_paid(conn, purchase.id, number, notice.card, paid_at, seller, names)
    if notice.saved_card is not None:
        await profiles.save_card(conn, purchase.tenant_id, purchase.buyer_user_id, provider_name, notice.saved_card)
    # The tax invoice is emailed from the outbox: owed now, in the paying transaction.
    await email_outbox.owe(conn, purchase.tenant_id, "tax_invoice", purchase.id, purchase.billing.email)
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
        credits_expire_at=credits_expire_at(paid_at, purchase.quote.credit_validity_months),
    )
    await enqueue(conn, purchase_event(events.PURCHASE_PAID, purchase, paid))


async def _purchase_failed(conn: asyncpg.Connection, purchase: Purchase, notice: PaymentNotice) -> None:
    reason = notice.failure_code or "payment_failed"
    await purchases.mark_failed(conn, purchase.id, reason, notice.card)
    failed = events.PurchaseFailed(
        purchase_id=purchase.id, tenant_id=purchase.tenant_id, account_id=purchase.account_id, reason=reason
    )
    await enqueue(conn, purchase_event(events.PURCHASE_FAILED, purchase, failed))
    await top_ups.purchase_failed(conn, purchase, reason)
