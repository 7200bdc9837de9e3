"""Billing's own replay of a purchase's creation (issue 15): whatever became of the purchase, the answer
to its creation keeps the checkout page it was created with, so a gateway replaying it never fails."""

from __future__ import annotations

import pytest

from tests.integration.billing.harness import Billing
from tests.support import eventually

DECLINED_CARD = "4000000000000002"


@pytest.mark.parametrize(
    ("card", "outcome", "failure_reason"),
    [("4242424242424242", "paid", None), (DECLINED_CARD, "pending", "card_declined")],
)
async def test_replaying_the_creation_after_payment_or_decline_answers_the_first_checkout_url(
    billing: Billing, card: str, outcome: str, failure_reason: str | None
) -> None:
    body = billing.buyer.purchase_body()
    first = await billing.client.post("/purchases", json=body, headers=billing.headers(key=f"replay-{outcome}"))
    created = await first.json()
    await billing.pay(created, card)

    async def settled() -> bool:  # a declined card leaves the purchase pending, its decline recorded
        _, read = await billing.get(f"/purchases/{created['id']}")
        return bool((read["status"], read["failure_reason"]) == (outcome, failure_reason))

    await eventually(settled)

    again = await billing.client.post("/purchases", json=body, headers=billing.headers(key=f"replay-{outcome}"))

    assert again.status == 200
    replayed = await again.json()
    assert replayed["id"] == created["id"] and replayed["status"] == outcome
    assert replayed["checkout_url"] == created["checkout_url"] is not None
    _, read = await billing.get(f"/purchases/{created['id']}")
    # A plain read shows the page only while it can still be paid: after a decline, for another card.
    assert read["checkout_url"] == (created["checkout_url"] if outcome == "pending" else None)
