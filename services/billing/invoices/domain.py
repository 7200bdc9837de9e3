"""Tax documents, pure and synchronous: their numbers, and what each one says.

A tax invoice is made from what the purchase stored and nothing else, so that an invoice printed again
years later says exactly what it said the day it was paid. An adjustment note is the tax document for
a refund, issued in its own numbered series: it names the tax invoice it adjusts and reverses that
invoice's GST in proportion, from what the purchase and the refund stored, so it too reads the same
whenever it is printed again.
"""

from __future__ import annotations

import itertools
import unicodedata
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from common.contracts import problems
from common.problems import NotFound
from services.billing.price_lists.domain import format_money, format_unit_price
from services.billing.purchases.domain import Purchase
from services.billing.refunds.domain import Refund


class InvoiceNotReady(NotFound):
    problem = problems.INVOICE_NOT_READY

    def __init__(self) -> None:
        super().__init__("The purchase has no invoice until it is paid.")


class AdjustmentNoteNotReady(NotFound):
    problem = problems.ADJUSTMENT_NOTE_NOT_READY

    def __init__(self) -> None:
        super().__init__("The refund has no adjustment note until its money has been returned.")


# A prefix is short enough to read out on the phone; its letters and digits are what stays of the name.
MAX_PREFIX = 8
# Below this a first word says too little ("A1 Realty" -> "A1REALTY", not "A1").
_SHORT_PREFIX = 3


def prefix_from_name(name: str) -> str:
    """The document prefix a tenant's name suggests: its first word but "The" in capitals (Acme Realty -> ACME),
    words joined while that is shorter than 3 characters, letters and digits only (accents dropped),
    at most 8. Empty when the name has no Latin letter or digit."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().upper()
    words = ["".join(c for c in word if c.isalnum()) for word in plain.split()]
    if len(words) > 1 and words[0] == "THE":  # The Smith Group -> SMITH
        words = words[1:]
    prefix = ""
    for word in filter(None, words):
        prefix += word
        if len(prefix) >= _SHORT_PREFIX:
            break
    return prefix[:MAX_PREFIX]


def prefix_from_id(tenant_id: uuid.UUID) -> str:
    """The prefix of a tenant whose name billing has not heard yet: stable and, in practice, unique."""
    return "T" + tenant_id.hex[: MAX_PREFIX - 1].upper()


def prefix_candidates(base: str) -> Iterator[str]:
    """The base, then with a number for when other tenants have it (ACME2, ACME3; ACMEREA2, ACMERE10:
    cut to stay within 8)."""
    yield base
    for n in itertools.count(2):
        suffix = str(n)
        yield base[: MAX_PREFIX - len(suffix)] + suffix


def format_invoice_number(number: int, prefix: str | None = None) -> str:
    """INV-ACME-000012; without a prefix, the form numbers had before prefixes (INV-000012)."""
    return f"INV-{prefix}-{number:06d}" if prefix else f"INV-{number:06d}"


def format_adjustment_note_number(number: int, prefix: str | None = None) -> str:
    return f"ADJ-{prefix}-{number:06d}" if prefix else f"ADJ-{number:06d}"


def pdf_filename(number: str) -> str:
    """The file a document downloads as: its number (numbers are letters, digits and dashes only)."""
    return f"{number}.pdf"


def money(amount: str, currency: str) -> str:
    sign = "$" if currency in ("AUD", "NZD", "USD") else ""
    return f"{sign}{amount}"


def _decrease(cents: int, currency: str) -> str:
    return "-" + money(format_money(cents), currency)


def invoice_context(purchase: Purchase, timezone: str) -> dict[str, Any]:
    if purchase.seller is None or purchase.paid_at is None or purchase.invoice_number is None:
        raise ValueError("only a paid purchase has a tax invoice")
    quote = purchase.quote
    issued: datetime = purchase.paid_at.astimezone(ZoneInfo(timezone))
    expires = purchase.credits_expire_at
    return {
        "seller": purchase.seller,
        "buyer": purchase.billing,
        "invoice_number": purchase.invoice_number,
        "issued_on": _day(issued),
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
        "credits_expire_on": _day(expires.astimezone(ZoneInfo(timezone))) if expires else None,
    }


def _day(moment: datetime) -> str:
    """7 December 2027."""
    return f"{moment.day} {moment:%B %Y}"


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
