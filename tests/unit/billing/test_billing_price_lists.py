from __future__ import annotations

from decimal import Decimal

import pytest

from services.billing.price_lists.domain import PriceListInvalid, PriceTier, price_list_of, quote

TIERS = (PriceTier(100, Decimal("0.0900")), PriceTier(5000, Decimal("0.0750")))


def test_a_valid_price_list_prices_quotes() -> None:
    prices = price_list_of("NZD", "GST", Decimal("0.15"), 100, 100_000, TIERS)
    quoted = quote(prices, 5000)
    assert (quoted.currency, quoted.unit_price, quoted.subtotal_cents, quoted.tax_cents) == (
        "NZD", Decimal("0.0750"), 37500, 5625)


@pytest.mark.parametrize(
    ("currency", "rate", "low", "high", "tiers", "field"),
    [
        ("JPY", Decimal("0.1"), 100, 1000, TIERS, "currency"),  # no minor digits: not cents
        ("AUD", Decimal("1.5"), 100, 1000, TIERS, "tax_rate"),
        ("AUD", Decimal("-0.1"), 100, 1000, TIERS, "tax_rate"),
        ("AUD", Decimal("0.1"), 1000, 100, TIERS, "max_quantity"),
        ("AUD", Decimal("0.1"), 100, 1000, (PriceTier(100, Decimal(0)),), "tiers"),
        ("AUD", Decimal("0.1"), 50, 1000, TIERS, "tiers"),  # the first tier must cover the minimum
    ],
)
def test_an_invalid_price_list_is_refused_naming_the_field(
    currency: str, rate: Decimal, low: int, high: int, tiers: tuple[PriceTier, ...], field: str
) -> None:
    with pytest.raises(PriceListInvalid) as raised:
        price_list_of(currency, "GST", rate, low, high, tiers)
    assert field in {e["field"] for e in raised.value.errors or []}
