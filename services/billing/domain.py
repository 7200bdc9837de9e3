"""Billing's rules, pure and synchronous: prices and tax, purchase requests, status changes.

Money is `Decimal` while it is being computed and whole cents (`int`) once it is a stored amount;
never a float. Card checks and webhook signatures live beside this module in `cards.py` and
`signatures.py`, with the same rules (no I/O, the service's own errors).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from common import accounts
from common.problems import Conflict, MalformedRequest, NotFound, RuleBroken

PurchaseStatus = Literal["pending", "paid", "credited", "failed"]
PurchaseOrigin = Literal["checkout", "auto_top_up"]
PAID_STATUSES: frozenset[str] = frozenset({"paid", "credited"})
# pending -> paid|failed is the provider's word; paid -> credited is the ledger's. Nothing else:
# a late, repeated or out-of-order notice finds its purchase already moved on and changes nothing.
_TRANSITIONS: frozenset[tuple[str, str]] = frozenset(
    {("pending", "paid"), ("pending", "failed"), ("paid", "credited")}
)
# Where a declined payment can still be retried (a Stripe PaymentIntent takes another card), a later
# success is money taken and must be credited, so failed -> paid is allowed there too.
_RETRY_TRANSITIONS = _TRANSITIONS | {("failed", "paid")}
_UNIT_PRICE_PLACES = Decimal("0.0001")
_RATE_PLACES = Decimal("0.01")


class QuantityOutOfRange(RuleBroken):
    pass


class PurchaseNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("There is no such purchase.")


class InvoiceNotReady(NotFound):
    def __init__(self) -> None:
        super().__init__("The purchase has no invoice until it is paid.")


class IdempotencyKeyReused(Conflict):
    def __init__(self) -> None:
        super().__init__(
            "This Idempotency-Key was already used for a different request.", slug="idempotency-key-reused"
        )


class AccountMismatch(MalformedRequest):
    pass


@dataclass(frozen=True)
class PriceTier:
    min_quantity: int
    unit_price: Decimal  # ex tax, per credit


@dataclass(frozen=True)
class PriceList:
    currency: str
    tax_name: str
    tax_rate: Decimal
    min_quantity: int
    max_quantity: int
    tiers: tuple[PriceTier, ...]  # ascending by min_quantity

    def __post_init__(self) -> None:
        starts = [tier.min_quantity for tier in self.tiers]
        if not starts or starts != sorted(set(starts)) or starts[0] > self.min_quantity:
            raise ValueError("tiers must ascend and cover the smallest quantity")
        if self.tax_rate < 0 or any(tier.unit_price < 0 for tier in self.tiers):
            raise ValueError("prices and tax cannot be negative")

    def unit_price_for(self, quantity: int) -> Decimal:
        """The whole quantity is priced at the tier it falls in (volume pricing, not graduated)."""
        if not self.min_quantity <= quantity <= self.max_quantity:
            message = f"Between {self.min_quantity:,} and {self.max_quantity:,} credits can be bought at once."
            raise QuantityOutOfRange(message, errors=[{"field": "quantity", "message": message}])
        return [tier for tier in self.tiers if tier.min_quantity <= quantity][-1].unit_price


# Currencies with two minor digits, which the payment providers take in cents.
CURRENCIES: frozenset[str] = frozenset({"AUD", "NZD", "USD", "CAD", "GBP", "EUR", "SGD", "HKD"})


class PriceListInvalid(RuleBroken):
    slug = "price-list-invalid"


def price_list_of(
    currency: str, tax_name: str, tax_rate: Decimal, min_quantity: int, max_quantity: int,
    tiers: tuple[PriceTier, ...],
) -> PriceList:
    """A valid price list or every problem with it."""
    errors = []
    if currency not in CURRENCIES:
        errors.append({"field": "currency", "message": f"One of {', '.join(sorted(CURRENCIES))}."})
    if not Decimal(0) <= tax_rate < Decimal(1):
        errors.append({"field": "tax_rate", "message": "A rate from 0 to below 1 (0.10 is 10%)."})
    if not 0 < min_quantity <= max_quantity:
        errors.append({"field": "max_quantity", "message": "Quantities must satisfy 0 < min <= max."})
    if any(tier.unit_price <= 0 for tier in tiers):
        errors.append({"field": "tiers", "message": "Every unit price must be above zero."})
    if not errors:
        try:
            return PriceList(currency, tax_name, tax_rate, min_quantity, max_quantity, tiers)
        except ValueError as exc:
            errors.append({"field": "tiers", "message": f"The tiers are not valid: {exc}."})
    raise PriceListInvalid("The price list is not valid.", errors=errors)


@dataclass(frozen=True)
class Quote:
    quantity: int
    unit_price: Decimal
    subtotal_cents: int
    tax_name: str
    tax_rate: Decimal
    tax_cents: int
    total_cents: int
    currency: str


def _round_to_whole(amount: Decimal) -> int:
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def quote(price_list: PriceList, quantity: int) -> Quote:
    unit_price = price_list.unit_price_for(quantity)
    subtotal_cents = _round_to_whole(quantity * unit_price * 100)
    tax_cents = _round_to_whole(subtotal_cents * price_list.tax_rate)
    return Quote(
        quantity=quantity,
        unit_price=unit_price,
        subtotal_cents=subtotal_cents,
        tax_name=price_list.tax_name,
        tax_rate=price_list.tax_rate,
        tax_cents=tax_cents,
        total_cents=subtotal_cents + tax_cents,
        currency=price_list.currency,
    )


def format_money(cents: int) -> str:
    """Cents as the decimal string JSON carries: 5500 -> "55.00"."""
    return str((Decimal(cents) / 100).quantize(Decimal("0.01")))


def format_unit_price(unit_price: Decimal) -> str:
    return str(unit_price.quantize(_UNIT_PRICE_PLACES))


def format_rate(rate: Decimal) -> str:
    """0.1 -> "0.10"; a rate with more digits (0.075) keeps them rather than being rounded."""
    two_places = rate.quantize(_RATE_PLACES)
    return str(two_places) if two_places == rate else str(rate.normalize())


def format_invoice_number(number: int) -> str:
    return f"INV-{number:06d}"


def format_adjustment_note_number(number: int) -> str:
    return f"ADJ-{number:06d}"


def checkout_description(quantity: int) -> str:
    return f"{quantity:,} SMS credits"


@dataclass(frozen=True)
class BillingDetails:
    name: str
    email: str
    company: str | None = None
    tax_id: str | None = None
    address: str | None = None


@dataclass(frozen=True)
class PurchaseOrder:
    """What a buyer asked for; its fingerprint tells a replay from a different request."""

    tenant_id: uuid.UUID
    buyer_user_id: uuid.UUID
    account_id: uuid.UUID
    account_code: str
    quantity: int
    billing: BillingDetails
    idempotency_key: str

    def fingerprint(self) -> str:
        canonical: dict[str, Any] = {
            "buyer_user_id": str(self.buyer_user_id),
            "account_id": str(self.account_id),
            "account_code": self.account_code,
            "quantity": self.quantity,
            "billing": asdict(self.billing),
        }
        text = json.dumps(canonical, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def check_account(tenant_id: uuid.UUID, account_id: uuid.UUID, account_code: str) -> None:
    """Credits are bought only for user-facing accounts, and the id must be the one the code names."""
    try:
        kind = accounts.kind_of(account_code)
    except ValueError:
        kind = None
    if kind not in accounts.USER_FACING:
        raise AccountMismatch(
            "Credits can be bought only for System Credits or a user's credits.",
            errors=[{"field": "account_code", "message": "must be 'system' or 'user:<uuid>'"}],
        )
    if accounts.account_id(tenant_id, account_code) != account_id:
        raise AccountMismatch(
            "The account id does not belong to the account code.",
            errors=[{"field": "account_id", "message": "does not match account_code"}],
        )


def may_move(current: str, target: PurchaseStatus, failure_is_final: bool = True) -> bool:
    return (current, target) in (_TRANSITIONS if failure_is_final else _RETRY_TRANSITIONS)


def purchase_credited_by(kind: str, reference: str | None) -> uuid.UUID | None:
    """The purchase a ledger transaction credits, None for any other transaction.

    Raises ValueError for a purchase transaction whose reference names no purchase: a broken contract.
    """
    if kind != "purchase":
        return None
    if reference is None or not reference.startswith("purchase:"):
        raise ValueError(f"purchase transaction with reference {reference!r}")
    return uuid.UUID(reference.removeprefix("purchase:"))


@dataclass(frozen=True)
class Seller:
    name: str
    abn: str
    address: str


@dataclass(frozen=True)
class Purchase:
    id: uuid.UUID
    tenant_id: uuid.UUID
    buyer_user_id: uuid.UUID
    account_id: uuid.UUID
    account_code: str
    status: PurchaseStatus
    quote: Quote
    billing: BillingDetails
    checkout_session_id: str | None  # None until an off-session charge has been made
    checkout_url: str | None
    created_at: datetime
    paid_at: datetime | None = None
    invoice_number: str | None = None
    card_brand: str | None = None
    card_last4: str | None = None
    failure_reason: str | None = None
    consistency_token: int | None = None
    seller: Seller | None = None  # as it was when the invoice was issued
    buyer_name: str | None = None  # as the directory named them when the invoice was issued
    account_name: str | None = None
    origin: PurchaseOrigin = "checkout"

    @property
    def is_paid(self) -> bool:
        return self.status in PAID_STATUSES
