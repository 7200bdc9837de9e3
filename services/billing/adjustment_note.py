"""The adjustment note: the tax document for a refund, issued in its own numbered series. It names
the tax invoice it adjusts and reverses that invoice's GST in proportion, from what the purchase and
the refund stored and nothing else, so it reads the same whenever it is printed again."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from services.billing.domain import Purchase, format_money
from services.billing.invoice import TEMPLATES, money, render_document
from services.billing.refund_rules import Refund


def _decrease(cents: int, currency: str) -> str:
    return "-" + money(format_money(cents), currency)


def note_context(purchase: Purchase, refund: Refund, timezone: str) -> dict[str, Any]:
    if refund.adjustment_note_number is None or refund.settled_at is None or purchase.paid_at is None:
        raise ValueError("only a completed refund has an adjustment note")
    if purchase.seller is None:
        raise ValueError("the purchase has no invoice to adjust")
    zone = ZoneInfo(timezone)
    issued = refund.settled_at.astimezone(zone)
    invoiced = purchase.paid_at.astimezone(zone)
    quote, amounts = purchase.quote, refund.amounts
    return {
        "seller": purchase.seller,
        "buyer": purchase.billing,
        "buyer_name": purchase.buyer_name,
        "account_name": purchase.account_name,
        "note_number": refund.adjustment_note_number,
        "issued_on": f"{issued.day} {issued:%B %Y}",
        "invoice_number": purchase.invoice_number,
        "invoiced_on": f"{invoiced.day} {invoiced:%B %Y}",
        "invoice_total": money(format_money(quote.total_cents), quote.currency),
        "purchase_id": str(purchase.id),
        "refund_id": str(refund.id),
        "quantity": f"{refund.quantity:,}",
        "purchased_quantity": f"{quote.quantity:,}",
        "subtotal": _decrease(amounts.subtotal_cents, quote.currency),
        "tax_name": quote.tax_name,
        "tax_rate": f"{(quote.tax_rate * 100).normalize():f}%",
        "tax": _decrease(amounts.tax_cents, quote.currency),
        "total": _decrease(amounts.total_cents, quote.currency),
        "refunded": money(format_money(amounts.total_cents), quote.currency),
        "currency": quote.currency,
        "card_brand": (purchase.card_brand or "card").title(),
        "card_last4": purchase.card_last4,
    }


def render_html(purchase: Purchase, refund: Refund, timezone: str) -> str:
    return TEMPLATES.get_template("adjustment_note.html").render(note_context(purchase, refund, timezone))


def render_pdf(purchase: Purchase, refund: Refund, timezone: str) -> bytes:
    return render_document(render_html(purchase, refund, timezone))
