from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.billing.price_lists.domain import Quote, quote
from services.billing.purchases.domain import BillingDetails, Purchase
from services.billing.refunds.domain import (
    PurchaseNotRefundable,
    RefundAmounts,
    RefundedSoFar,
    RefundQuantityOutOfRange,
    allocate,
    check_refund,
    may_step,
)
from tests.unit.billing.test_billing_pricing import DEFAULT


def _quote(quantity: int) -> Quote:
    return quote(DEFAULT, quantity)


def _purchase(status: str = "credited", quantity: int = 1000) -> Purchase:
    return Purchase(
        id=uuid.uuid4(), tenant_id=uuid.uuid4(), buyer_user_id=uuid.uuid4(), account_id=uuid.uuid4(),
        account_code="system", status=status, quote=_quote(quantity),  # type: ignore[arg-type]
        billing=BillingDetails("Jo", "jo@example.com"), checkout_session_id="cs", checkout_url="u",
        created_at=datetime.now(UTC), invoice_number="INV-000001",
    )


def _add(so_far: RefundedSoFar, quantity: int, amounts: RefundAmounts) -> RefundedSoFar:
    return RefundedSoFar(so_far.quantity + quantity, so_far.subtotal_cents + amounts.subtotal_cents,
                         so_far.tax_cents + amounts.tax_cents)


def test_a_full_refund_reverses_the_invoice_to_the_cent() -> None:
    invoiced = _quote(1234)
    amounts = allocate(invoiced, RefundedSoFar(), 1234)
    assert (amounts.subtotal_cents, amounts.tax_cents, amounts.total_cents) == (
        invoiced.subtotal_cents, invoiced.tax_cents, invoiced.total_cents)


def test_a_partial_refund_is_the_pro_rata_share_rounded_half_up() -> None:
    invoiced = _quote(1000)  # 1,000 at 0.08: 80.00 + 8.00 GST
    amounts = allocate(invoiced, RefundedSoFar(), 333)
    assert (amounts.subtotal_cents, amounts.tax_cents) == (2664, 266)  # 26.64 and 2.664 -> 2.66


@given(quantity=st.integers(100, 60_000), splits=st.lists(st.integers(1, 20_000), max_size=8))
def test_refunds_in_any_split_add_up_to_the_invoice_once_every_credit_is_refunded(
    quantity: int, splits: list[int]
) -> None:
    invoiced = _quote(quantity)
    so_far = RefundedSoFar()
    for wanted in [*splits, quantity]:
        split = min(wanted, quantity - so_far.quantity)
        if split == 0:
            break
        amounts = allocate(invoiced, so_far, split)
        assert amounts.subtotal_cents >= 0 and amounts.tax_cents >= 0
        so_far = _add(so_far, split, amounts)
    assert so_far.quantity == quantity
    assert (so_far.subtotal_cents, so_far.tax_cents) == (invoiced.subtotal_cents, invoiced.tax_cents)


def test_only_a_credited_purchase_can_be_refunded() -> None:
    for status in ("pending", "paid", "failed"):
        with pytest.raises(PurchaseNotRefundable):
            check_refund(_purchase(status), 10, RefundedSoFar())
    check_refund(_purchase("credited"), 10, RefundedSoFar())


@pytest.mark.parametrize(("quantity", "so_far"), [(0, 0), (-5, 0), (1001, 0), (301, 700), (1, 1000)])
def test_a_refund_takes_between_one_and_the_credits_not_yet_refunded(quantity: int, so_far: int) -> None:
    with pytest.raises(RefundQuantityOutOfRange) as raised:
        check_refund(_purchase(), quantity, RefundedSoFar(quantity=so_far))
    assert raised.value.errors and raised.value.errors[0]["field"] == "quantity"


def test_a_refunds_steps_only_go_forward() -> None:
    allowed = {("requested", "debited"), ("requested", "rejected"), ("debited", "refunded"), ("debited", "failed")}
    statuses = ("requested", "debited", "refunded", "rejected", "failed")
    for current in statuses:
        for target in statuses:
            assert may_step(current, target) is ((current, target) in allowed)  # type: ignore[arg-type]


def test_money_is_never_a_float() -> None:
    amounts = allocate(_quote(777), RefundedSoFar(), 100)
    assert isinstance(amounts.subtotal_cents, int) and isinstance(amounts.tax_cents, int)
    assert Decimal(amounts.total_cents) == Decimal(amounts.subtotal_cents + amounts.tax_cents)
