"""Billing's own replay of a purchase's creation (issue 15): whatever became of the purchase, the answer
to its creation keeps the checkout page it was created with, so a gateway replaying it never fails."""

from __future__ import annotations

import pytest

from tests.integration.billing.harness import Billing

DECLINED_CARD = "4000000000000002"


@pytest.mark.parametrize(("card", "outcome"), [("4242424242424242", "paid"), (DECLINED_CARD, "failed")])
async def test_replaying_the_creation_after_payment_or_decline_answers_the_first_checkout_url(
    billing: Billing, card: str, outcome: str
) -> None:
    body = billing.buyer.purchase_body()
    first = await billing.client.post("/purchases", json=body, headers=billing.headers(key=f"replay-{outcome}"))
    created = await first.json()
    await billing.pay(created, card)
    await billing.wait_for_status(created["id"], outcome)

    again = await billing.client.post("/purchases", json=body, headers=billing.headers(key=f"replay-{outcome}"))

    assert again.status == 200
    replayed = await again.json()
    assert replayed["id"] == created["id"] and replayed["status"] == outcome
    assert replayed["checkout_url"] == created["checkout_url"] is not None
    _, read = await billing.get(f"/purchases/{created['id']}")
    assert read["checkout_url"] is None  # a plain read shows the page only while it can still be paid
