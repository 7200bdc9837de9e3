"""Prices and tax, pure and synchronous: price lists, their tiers, and what a quantity costs.

Money is `Decimal` while it is being computed and whole cents (`int`) once it is a stored amount;
never a float.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from common.contracts import problems
from common.problems import RuleBroken

_UNIT_PRICE_PLACES = Decimal("0.0001")
_RATE_PLACES = Decimal("0.01")
# Currencies with two minor digits, which the payment providers take in cents.
CURRENCIES: frozenset[str] = frozenset({"AUD", "NZD", "USD", "CAD", "GBP", "EUR", "SGD", "HKD"})
# How long purchased credits may last, in calendar months after payment (the database checks the same).
MIN_VALIDITY_MONTHS, MAX_VALIDITY_MONTHS = 1, 120
VALIDITY_NOT_VALID = (f"Whole months from {MIN_VALIDITY_MONTHS} to {MAX_VALIDITY_MONTHS}, "
                      "or null for credits that never expire.")


class QuantityOutOfRange(RuleBroken):
    problem = problems.QUANTITY_OUT_OF_RANGE


class PriceListInvalid(RuleBroken):
    problem = problems.PRICE_LIST_INVALID


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
    credit_validity_months: int | None = None  # credits bought last this many months from payment; None: forever

    def __post_init__(self) -> None:
        starts = [tier.min_quantity for tier in self.tiers]
        if not starts or starts != sorted(set(starts)) or starts[0] > self.min_quantity:
            raise ValueError("tiers must ascend and cover the smallest quantity")
        if self.tax_rate < 0 or any(tier.unit_price < 0 for tier in self.tiers):
            raise ValueError("prices and tax cannot be negative")
        if not validity_is_valid(self.credit_validity_months):
            raise ValueError("credit validity must be 1 to 120 months or none")

    def unit_price_for(self, quantity: int) -> Decimal:
        """The whole quantity is priced at the tier it falls in (volume pricing, not graduated)."""
        if not self.min_quantity <= quantity <= self.max_quantity:
            message = f"Between {self.min_quantity:,} and {self.max_quantity:,} credits can be bought at once."
            raise QuantityOutOfRange(message, errors=[{"field": "quantity", "message": message}])
        return [tier for tier in self.tiers if tier.min_quantity <= quantity][-1].unit_price


def validity_is_valid(months: int | None) -> bool:
    return months is None or MIN_VALIDITY_MONTHS <= months <= MAX_VALIDITY_MONTHS


def price_list_of(
    currency: str, tax_name: str, tax_rate: Decimal, min_quantity: int, max_quantity: int,
    tiers: tuple[PriceTier, ...], credit_validity_months: int | None = None,
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
    if not validity_is_valid(credit_validity_months):
        errors.append({"field": "credit_validity_months", "message": VALIDITY_NOT_VALID})
    if not errors:
        try:
            return PriceList(currency, tax_name, tax_rate, min_quantity, max_quantity, tiers, credit_validity_months)
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
    credit_validity_months: int | None = None  # the price list's, copied: what this quote sells


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
        credit_validity_months=price_list.credit_validity_months,
    )


def add_months(moment: datetime, months: int) -> datetime:
    """The same time of day `months` calendar months later. A day the month lacks becomes its last, as
    people count months (31 January + 1 month = 28 February, or 29 in a leap year); counted in the moment's
    own time zone (billing's are UTC)."""
    year, month_index = divmod(moment.year * 12 + moment.month - 1 + months, 12)
    month = month_index + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def credits_expire_at(paid_at: datetime, credit_validity_months: int | None) -> datetime | None:
    """When credits paid for at `paid_at` lapse under a validity of so many months; None: never."""
    return None if credit_validity_months is None else add_months(paid_at, credit_validity_months)


def format_money(cents: int) -> str:
    """Cents as the decimal string JSON carries: 5500 -> "55.00"."""
    return str((Decimal(cents) / 100).quantize(Decimal("0.01")))


def format_unit_price(unit_price: Decimal) -> str:
    return str(unit_price.quantize(_UNIT_PRICE_PLACES))


def format_rate(rate: Decimal) -> str:
    """0.1 -> "0.10"; a rate with more digits (0.075) keeps them rather than being rounded."""
    two_places = rate.quantize(_RATE_PLACES)
    return str(two_places) if two_places == rate else str(rate.normalize())
