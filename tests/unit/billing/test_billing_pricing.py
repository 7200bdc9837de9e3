from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from common.web import status_of
from services.billing.price_lists.domain import (
    PriceList,
    PriceTier,
    QuantityOutOfRange,
    format_money,
    format_rate,
    format_unit_price,
    quote,
)

# The demo defaults, as migration 0002 writes them.
DEFAULT = PriceList(
    currency="AUD",
    tax_name="GST",
    tax_rate=Decimal("0.10"),
    min_quantity=100,
    max_quantity=1_000_000,
    tiers=(
        PriceTier(100, Decimal("0.0800")),
        PriceTier(10_000, Decimal("0.0700")),
        PriceTier(50_000, Decimal("0.0600")),
        PriceTier(200_000, Decimal("0.0500")),
    ),
)
TEN_THOUSANDTHS = {100: 800, 10_000: 700, 50_000: 600, 200_000: 500}


def _half_up_div(numerator: int, denominator: int) -> int:
    """Integer oracle for round-half-up of a non-negative quotient."""
    return (2 * numerator + denominator) // (2 * denominator)


@pytest.mark.parametrize(
    ("quantity", "unit_price"),
    [
        (100, "0.0800"), (9_999, "0.0800"), (10_000, "0.0700"), (49_999, "0.0700"),
        (50_000, "0.0600"), (199_999, "0.0600"), (200_000, "0.0500"), (1_000_000, "0.0500"),
    ],
)
def test_the_whole_quantity_is_priced_at_the_tier_it_falls_in(quantity: int, unit_price: str) -> None:
    assert quote(DEFAULT, quantity).unit_price == Decimal(unit_price)


def test_a_quote_adds_gst_to_the_ex_gst_subtotal() -> None:
    q = quote(DEFAULT, 10_000)
    assert (q.subtotal_cents, q.tax_cents, q.total_cents) == (70_000, 7_000, 77_000)
    assert (q.tax_name, q.currency) == ("GST", "AUD")


def test_half_a_cent_rounds_up_both_in_the_subtotal_and_in_the_tax() -> None:
    prices = PriceList("AUD", "GST", Decimal("0.10"), 1, 1000, (PriceTier(1, Decimal("0.0803")),))
    q = quote(prices, 150)  # 150 x 0.0803 = 12.045 -> 12.05 (banker's rounding would give 12.04)
    assert q.subtotal_cents == 1205
    assert q.tax_cents == 121  # 1.205 -> 1.21 (banker's: 1.20)
    assert q.total_cents == 1326


@given(st.integers(min_value=100, max_value=1_000_000))
def test_default_quotes_match_an_integer_oracle(quantity: int) -> None:
    q = quote(DEFAULT, quantity)
    tier = max(start for start in TEN_THOUSANDTHS if start <= quantity)
    subtotal = _half_up_div(quantity * TEN_THOUSANDTHS[tier], 100)
    assert q.subtotal_cents == subtotal
    assert q.tax_cents == _half_up_div(subtotal, 10)
    assert q.total_cents == q.subtotal_cents + q.tax_cents


@st.composite
def price_lists(draw: st.DrawFn) -> PriceList:
    starts = sorted(draw(st.sets(st.integers(min_value=2, max_value=100_000), max_size=4)))
    places = Decimal("0.0001")
    prices = [draw(st.decimals(min_value=0, max_value=5, places=4)).quantize(places) for _ in range(len(starts) + 1)]
    rate = draw(st.decimals(min_value=0, max_value=Decimal("0.5"), places=4))
    tiers = tuple(PriceTier(start, price) for start, price in zip([1, *starts], prices, strict=True))
    return PriceList("AUD", "GST", rate, 1, 1_000_000, tiers)


@given(price_lists(), st.integers(min_value=1, max_value=1_000_000))
def test_any_quote_is_whole_cents_never_negative_and_adds_up(prices: PriceList, quantity: int) -> None:
    q = quote(prices, quantity)
    for cents in (q.subtotal_cents, q.tax_cents, q.total_cents):
        assert isinstance(cents, int)
        assert cents >= 0
    assert q.total_cents == q.subtotal_cents + q.tax_cents
    exact_subtotal = quantity * q.unit_price * 100
    assert abs(q.subtotal_cents - exact_subtotal) <= Decimal("0.5")
    assert abs(q.tax_cents - q.subtotal_cents * prices.tax_rate) <= Decimal("0.5")


@pytest.mark.parametrize("quantity", [0, 99, 1_000_001, -100])
def test_a_quantity_outside_the_limits_is_refused(quantity: int) -> None:
    with pytest.raises(QuantityOutOfRange) as refused:
        quote(DEFAULT, quantity)
    assert status_of(refused.value) == 422
    assert refused.value.errors == [{"field": "quantity", "message": str(refused.value)}]


def test_a_price_list_whose_tiers_do_not_ascend_or_cover_the_minimum_is_invalid() -> None:
    with pytest.raises(ValueError):
        PriceList("AUD", "GST", Decimal("0.1"), 100, 1000, (PriceTier(500, Decimal("1")), PriceTier(100, Decimal("2"))))
    with pytest.raises(ValueError):
        PriceList("AUD", "GST", Decimal("0.1"), 100, 1000, (PriceTier(200, Decimal("1")),))
    with pytest.raises(ValueError):
        PriceList("AUD", "GST", Decimal("0.1"), 100, 1000, ())


def test_money_is_formatted_as_decimal_strings() -> None:
    assert [format_money(c) for c in (5500, 0, 5, 123456)] == ["55.00", "0.00", "0.05", "1234.56"]
    assert format_unit_price(Decimal("0.08")) == "0.0800"
    assert format_rate(Decimal("0.1000")) == "0.10"
    assert format_rate(Decimal("0.075")) == "0.075"
