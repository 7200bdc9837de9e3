"""Purchased credits expire a price list's number of calendar months after payment: the month arithmetic,
the range a price list may say, and where the expiry is shown (the quote, the tax invoice)."""

from __future__ import annotations

import calendar
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from common.contracts.billing import PriceListRequest
from services.billing.invoices.domain import invoice_context
from services.billing.invoices.pdf import invoice_html
from services.billing.price_lists.domain import (
    PriceList,
    PriceListInvalid,
    PriceTier,
    add_months,
    credits_expire_at,
    price_list_of,
    quote,
)
from services.billing.price_lists.schemas import keeps_validity, quote_answer
from services.billing.purchases.domain import BillingDetails, Purchase, Seller

TIERS = (PriceTier(100, Decimal("0.0800")), PriceTier(10_000, Decimal("0.0700")))
SYDNEY = "Australia/Sydney"


def _list(months: int | None) -> PriceList:
    return price_list_of("AUD", "GST", Decimal("0.10"), 100, 1_000_000, TIERS, months)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (datetime(2026, 12, 7, 4, 30, tzinfo=UTC), 12, datetime(2027, 12, 7, 4, 30, tzinfo=UTC)),
        (datetime(2027, 1, 31, 9, 0, tzinfo=UTC), 1, datetime(2027, 2, 28, 9, 0, tzinfo=UTC)),
        (datetime(2028, 1, 31, 9, 0, tzinfo=UTC), 1, datetime(2028, 2, 29, 9, 0, tzinfo=UTC)),  # leap year
        (datetime(2028, 2, 29, 9, 0, tzinfo=UTC), 12, datetime(2029, 2, 28, 9, 0, tzinfo=UTC)),
        (datetime(2026, 3, 31, 0, 0, tzinfo=UTC), 1, datetime(2026, 4, 30, 0, 0, tzinfo=UTC)),
        (datetime(2026, 11, 30, 0, 0, tzinfo=UTC), 3, datetime(2027, 2, 28, 0, 0, tzinfo=UTC)),  # over a year end
        (datetime(2026, 12, 15, 0, 0, tzinfo=UTC), 1, datetime(2027, 1, 15, 0, 0, tzinfo=UTC)),
        (datetime(2026, 5, 10, 0, 0, tzinfo=UTC), 120, datetime(2036, 5, 10, 0, 0, tzinfo=UTC)),
    ],
)
def test_months_are_calendar_months_and_a_missing_day_becomes_the_months_last(
    start: datetime, months: int, expected: datetime
) -> None:
    assert add_months(start, months) == expected


@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)),
    st.integers(min_value=1, max_value=120),
)
def test_adding_months_moves_the_month_keeps_the_time_and_clamps_only_past_the_months_end(
    start: datetime, months: int
) -> None:
    later = add_months(start, months)
    assert (later.year * 12 + later.month) - (start.year * 12 + start.month) == months
    assert later.timetz() == start.timetz()
    last_day = calendar.monthrange(later.year, later.month)[1]
    assert later.day == min(start.day, last_day)


def test_credits_expire_the_validity_after_payment_or_never() -> None:
    paid_at = datetime(2026, 12, 7, 4, 30, tzinfo=UTC)
    assert credits_expire_at(paid_at, 12) == datetime(2027, 12, 7, 4, 30, tzinfo=UTC)
    assert credits_expire_at(paid_at, None) is None


@pytest.mark.parametrize("months", [1, 12, 120, None])
def test_a_validity_from_1_to_120_months_or_none_is_accepted(months: int | None) -> None:
    assert _list(months).credit_validity_months == months


@pytest.mark.parametrize("months", [0, -1, 121, 1200])
def test_a_validity_outside_1_to_120_months_is_refused_naming_the_field(months: int) -> None:
    with pytest.raises(PriceListInvalid) as raised:
        _list(months)
    assert [e["field"] for e in raised.value.errors or []] == ["credit_validity_months"]
    with pytest.raises(ValueError, match="credit validity"):
        PriceList("AUD", "GST", Decimal("0.10"), 100, 1000, TIERS, months)


def test_a_quote_sells_the_price_lists_validity_and_answers_it() -> None:
    assert quote_answer(quote(_list(12), 1000)).credit_validity_months == 12
    assert quote_answer(quote(_list(None), 1000)).credit_validity_months is None


def test_a_request_that_leaves_the_validity_out_keeps_it_and_one_that_sends_null_says_never() -> None:
    body = {"currency": "AUD", "tax_name": "GST", "tax_rate": "0.10", "min_quantity": 100, "max_quantity": 1000,
            "tiers": [{"min_quantity": 100, "unit_price": "0.08"}]}
    left_out = PriceListRequest.model_validate(body)
    never = PriceListRequest.model_validate({**body, "credit_validity_months": None})
    twelve = PriceListRequest.model_validate({**body, "credit_validity_months": 12})
    assert (keeps_validity(left_out), keeps_validity(never), keeps_validity(twelve)) == (True, False, False)
    assert twelve.credit_validity_months == 12
    # Only the transport refuses a validity that is not a whole number; its range is billing's rule (422).
    assert PriceListRequest.model_validate({**body, "credit_validity_months": 0}).credit_validity_months == 0


def test_the_request_schema_documents_the_range_and_no_default() -> None:
    schema = PriceListRequest.model_json_schema()["properties"]["credit_validity_months"]
    assert "default" not in schema
    [integer] = [branch for branch in schema["anyOf"] if branch.get("type") == "integer"]
    assert (integer["minimum"], integer["maximum"]) == (1, 120)


def _paid_purchase(months: int | None, paid_at: datetime) -> Purchase:
    return Purchase(
        id=uuid.uuid4(), tenant_id=uuid.uuid4(), buyer_user_id=uuid.uuid4(), account_id=uuid.uuid4(),
        account_code="system", status="paid", quote=quote(_list(months), 1000),
        billing=BillingDetails("Jo", "jo@example.com"), checkout_session_id="cs", checkout_url=None,
        created_at=paid_at - timedelta(minutes=5), paid_at=paid_at, invoice_number="INV-ACME-000001",
        seller=Seller("SMS Credits Pty Ltd", "53 004 085 616", "1 Example St"),
    )


def test_the_tax_invoice_states_the_expiry_date_in_the_invoices_time_zone() -> None:
    # 20:00 UTC on 6 December is 7 December in Sydney: both dates are Sydney's.
    purchase = _paid_purchase(12, datetime(2026, 12, 6, 20, 0, tzinfo=UTC))
    context = invoice_context(purchase, SYDNEY)
    assert (context["issued_on"], context["credits_expire_on"]) == ("7 December 2026", "7 December 2027")
    assert "Credits expire on 7 December 2027" in invoice_html(purchase, SYDNEY)


def test_the_tax_invoice_of_credits_that_never_expire_states_no_expiry() -> None:
    purchase = _paid_purchase(None, datetime(2026, 12, 6, 20, 0, tzinfo=UTC))
    assert invoice_context(purchase, SYDNEY)["credits_expire_on"] is None
    assert "expire" not in invoice_html(purchase, SYDNEY)
    assert replace(purchase, paid_at=None).credits_expire_at is None
