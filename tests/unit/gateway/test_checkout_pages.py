"""The hosted checkout's pages: when the confirmation sends a buyer back to the checkout for another card."""

from __future__ import annotations

from typing import Any

from common.contracts.billing import CheckoutStatus
from gateway.clients.billing import CheckoutSession
from gateway.web.pages import awaits_another_card

DECLINED: dict[str, Any] = {"status": "pending", "failure_reason": "card_declined", "checkout_url": "/checkout/cs_1"}


def _session(status: CheckoutStatus) -> CheckoutSession:
    return CheckoutSession(session_id="cs_1", purchase_id="p", tenant_id="t", status=status, quantity=100,
                           total="6.60", currency="AUD", description="100 SMS credits")


def test_a_declined_purchase_goes_back_to_its_open_checkout():
    assert awaits_another_card(DECLINED, _session("open"))


def test_a_checkout_another_card_paid_is_never_reopened_while_billing_catches_up():
    # Billing still shows the decline (its webhook is late); the checkout has taken the payment: going
    # back would send the buyer straight here again, round and round.
    assert not awaits_another_card(DECLINED, _session("succeeded"))


def test_a_purchase_paid_or_never_declined_stays_on_the_confirmation():
    assert not awaits_another_card({**DECLINED, "status": "paid", "failure_reason": None}, _session("open"))
    assert not awaits_another_card({**DECLINED, "failure_reason": None}, _session("open"))
