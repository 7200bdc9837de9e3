"""The text and attachments of billing's emails, built from what is stored when the email is sent.

Rendering a PDF again gives the same document: invoices and adjustment notes are made only from the
purchase's and refund's stored facts.
"""

from __future__ import annotations

import asyncio
import uuid
from email.message import EmailMessage

import asyncpg

from services.billing.invoices import pdf
from services.billing.price_lists.domain import format_money
from services.billing.purchases import store as purchase_store
from services.billing.purchases.domain import Purchase
from services.billing.refunds import store as refund_store
from services.billing.settings import BillingSettings
from services.billing.topups.domain import MONTHLY_CAP_REACHED


async def compose(pool: asyncpg.Pool, row: asyncpg.Record, settings: BillingSettings) -> EmailMessage:
    kind = row["kind"]
    if kind == "tax_invoice":
        return await _tax_invoice(pool, row, settings)
    if kind == "adjustment_note":
        return await _adjustment_note(pool, row, settings)
    if kind == "top_up_failed":
        return await _top_up_failed(pool, row)
    raise ValueError(f"unknown email kind {kind!r}")


async def _purchase(pool: asyncpg.Pool, row: asyncpg.Record, purchase_id: uuid.UUID) -> Purchase:
    async with pool.acquire() as conn:
        purchase = await purchase_store.get_purchase(conn, row["tenant_id"], purchase_id)
    if purchase is None:
        raise LookupError(f"email {row['id']} names no purchase")
    return purchase


def _total(purchase: Purchase, cents: int) -> str:
    return f"{purchase.quote.currency} {format_money(cents)}"


async def _tax_invoice(pool: asyncpg.Pool, row: asyncpg.Record, settings: BillingSettings) -> EmailMessage:
    purchase = await _purchase(pool, row, row["subject_id"])
    document = await asyncio.to_thread(pdf.invoice_pdf, purchase, settings.invoice_timezone)
    message = EmailMessage()
    message["Subject"] = f"Tax invoice {purchase.invoice_number} from {settings.seller_name}"
    message.set_content(
        f"Hello {purchase.billing.name},\n\n"
        f"Thank you for your purchase of {purchase.quote.quantity:,} SMS credits"
        f"{' for ' + purchase.account_name if purchase.account_name else ''}.\n"
        f"Your tax invoice {purchase.invoice_number} for {_total(purchase, purchase.quote.total_cents)} "
        "is attached.\n\n"
        f"{settings.seller_name}\n"
    )
    message.add_attachment(document, maintype="application", subtype="pdf",
                           filename=f"tax-invoice-{purchase.invoice_number}.pdf")
    return message


async def _adjustment_note(pool: asyncpg.Pool, row: asyncpg.Record, settings: BillingSettings) -> EmailMessage:
    async with pool.acquire() as conn:
        refund = await refund_store.load_refund(conn, row["subject_id"])
    if refund is None:
        raise LookupError(f"email {row['id']} names no refund")
    purchase = await _purchase(pool, row, refund.purchase_id)
    document = await asyncio.to_thread(pdf.adjustment_note_pdf, purchase, refund, settings.invoice_timezone)
    message = EmailMessage()
    message["Subject"] = (
        f"Adjustment note {refund.adjustment_note_number} for tax invoice {purchase.invoice_number}"
    )
    message.set_content(
        f"Hello {purchase.billing.name},\n\n"
        f"{refund.quantity:,} SMS credits of your purchase on tax invoice {purchase.invoice_number} were refunded: "
        f"{_total(purchase, refund.amounts.total_cents)} goes back to your card. "
        f"The adjustment note {refund.adjustment_note_number} is attached.\n\n"
        f"{settings.seller_name}\n"
    )
    message.add_attachment(document, maintype="application", subtype="pdf",
                           filename=f"adjustment-note-{refund.adjustment_note_number}.pdf")
    return message


async def _top_up_failed(pool: asyncpg.Pool, row: asyncpg.Record) -> EmailMessage:
    purchase = await _purchase(pool, row, row["subject_id"])
    if purchase.failure_reason == MONTHLY_CAP_REACHED:
        return _top_up_over_cap(purchase)
    card = f"{(purchase.card_brand or 'card').title()} ending {purchase.card_last4}" if purchase.card_last4 else "card"
    message = EmailMessage()
    message["Subject"] = "Automatic top-up of SMS credits declined"
    message.set_content(
        f"Hello {purchase.billing.name},\n\n"
        f"The automatic top-up of {purchase.quote.quantity:,} SMS credits"
        f"{' for ' + purchase.account_name if purchase.account_name else ''} was declined by your {card} "
        f"({purchase.failure_reason or 'declined'}). Nothing was charged.\n"
        "Automatic top-up is paused until it is turned on again with a card that works.\n"
    )
    return message


def _top_up_over_cap(purchase: Purchase) -> EmailMessage:
    """Nobody's card declined anything: the payer's own monthly cap stopped the top-up."""
    message = EmailMessage()
    message["Subject"] = "Automatic top-up of SMS credits skipped: monthly cap reached"
    message.set_content(
        f"Hello {purchase.billing.name},\n\n"
        f"The automatic top-up of {purchase.quote.quantity:,} SMS credits"
        f"{' for ' + purchase.account_name if purchase.account_name else ''} "
        f"({purchase.quote.currency} {format_money(purchase.quote.total_cents)}) was not made: with this month's "
        "other top-ups it would go over the monthly cap you set. Nothing was charged.\n"
        "Automatic top-up is paused: save its settings again (with a higher cap, or next month) to resume it.\n"
    )
    return message
