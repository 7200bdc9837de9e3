"""The tax invoice: an HTML template rendered to PDF, from what the purchase stored and nothing else,
so that an invoice printed again years later says exactly what it said the day it was paid."""

from __future__ import annotations

import warnings
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2

from services.billing.domain import Purchase, format_money, format_unit_price

with warnings.catch_warnings():
    # WeasyPrint announces a missing optional system library (HarfBuzz subset, which only makes the
    # file smaller) as a deprecation; tests run with warnings as errors and must not fail on it.
    warnings.filterwarnings("ignore", message="HarfBuzz-Subset", category=DeprecationWarning)
    import weasyprint

TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


def money(amount: str, currency: str) -> str:
    sign = "$" if currency in ("AUD", "NZD", "USD") else ""
    return f"{sign}{amount}"


def invoice_context(purchase: Purchase, timezone: str) -> dict[str, Any]:
    if purchase.seller is None or purchase.paid_at is None or purchase.invoice_number is None:
        raise ValueError("only a paid purchase has a tax invoice")
    quote = purchase.quote
    issued: datetime = purchase.paid_at.astimezone(ZoneInfo(timezone))
    return {
        "seller": purchase.seller,
        "buyer": purchase.billing,
        "invoice_number": purchase.invoice_number,
        "issued_on": f"{issued.day} {issued:%B %Y}",
        "purchase_id": str(purchase.id),
        "quantity": f"{quote.quantity:,}",
        "unit_price": money(format_unit_price(quote.unit_price), quote.currency),
        "subtotal": money(format_money(quote.subtotal_cents), quote.currency),
        "tax_name": quote.tax_name,
        "tax_rate": f"{(quote.tax_rate * 100).normalize():f}%",
        "tax": money(format_money(quote.tax_cents), quote.currency),
        "total": money(format_money(quote.total_cents), quote.currency),
        "currency": quote.currency,
        "card_brand": (purchase.card_brand or "card").title(),
        "card_last4": purchase.card_last4,
        "buyer_name": purchase.buyer_name,
        "account_name": purchase.account_name,
    }


def render_html(purchase: Purchase, timezone: str) -> str:
    return TEMPLATES.get_template("invoice.html").render(invoice_context(purchase, timezone))


def render_document(html: str) -> bytes:
    pdf: bytes = weasyprint.HTML(string=html).write_pdf()
    return pdf


def render_pdf(purchase: Purchase, timezone: str) -> bytes:
    return render_document(render_html(purchase, timezone))
