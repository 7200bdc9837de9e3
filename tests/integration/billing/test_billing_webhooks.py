from __future__ import annotations

import time
import uuid

import pytest

from common.contracts import events
from services.billing.payments import signatures
from tests.integration.billing.harness import WEBHOOK_SECRET, Billing, EventTap, invoice_number, webhook_body


async def _nothing_changed(billing: Billing, purchase_id: str) -> None:
    assert await billing.status_of(purchase_id) == "pending"
    async with billing.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM outbox") == 0
        assert await conn.fetchval("SELECT count(*) FROM inbox") == 0
        assert await conn.fetchval("SELECT count(*) FROM invoice_counters") == 0


@pytest.mark.parametrize(
    ("secret", "age_seconds"),
    [("whsec_somebody_else_entirely", 0), (WEBHOOK_SECRET, 301), (WEBHOOK_SECRET, -301)],
    ids=["wrong-secret", "stale", "from-the-future"],
)
async def test_a_badly_signed_or_stale_webhook_is_refused_and_changes_nothing(
    billing: Billing, secret: str, age_seconds: int
) -> None:
    purchase = await billing.purchase()

    status, problem = await billing.post_webhook(
        webhook_body(purchase), secret=secret, timestamp=int(time.time()) - age_seconds
    )

    assert status == 400
    assert problem["type"] == "/problems/invalid-signature"
    await _nothing_changed(billing, purchase["id"])


async def test_an_unsigned_or_tampered_webhook_is_refused_and_changes_nothing(billing: Billing) -> None:
    purchase = await billing.purchase()
    body = webhook_body(purchase)
    header = signatures.sign(WEBHOOK_SECRET, body, int(time.time()))

    unsigned = await billing.client.post("/webhooks/test", data=body)
    tampered = await billing.client.post(
        "/webhooks/test", data=body.replace(b"4242", b"0000"), headers={"Test-Signature": header}
    )

    assert (unsigned.status, tampered.status) == (400, 400)
    await _nothing_changed(billing, purchase["id"])


async def test_a_webhook_for_an_unknown_purchase_is_acknowledged_and_changes_nothing(billing: Billing) -> None:
    purchase = await billing.purchase()
    stranger = {**purchase, "id": str(uuid.uuid4())}
    wrong_session = {**purchase, "checkout_url": "http://x/checkout/cs_test_someone_else"}

    for body in (webhook_body(stranger), webhook_body(wrong_session)):
        status, answer = await billing.post_webhook(body)
        assert (status, answer["outcome"]) == (200, "unknown_purchase")
    await _nothing_changed(billing, purchase["id"])


async def test_a_failure_after_success_is_acknowledged_and_changes_nothing(
    billing: Billing, published: EventTap
) -> None:
    purchase = await billing.purchase()
    await billing.post_webhook(webhook_body(purchase))

    status, answer = await billing.post_webhook(
        webhook_body(purchase, "payment.failed", failure_code="card_declined")
    )

    assert (status, answer["outcome"]) == (200, "ignored")
    _, paid = await billing.get(f"/purchases/{purchase['id']}")
    assert (paid["status"], paid["failure_reason"]) == ("paid", None)  # no decline recorded on a paid purchase
    await published.wait_for(events.PURCHASE_PAID, purchase["id"])
    await published.drain(1.5)
    assert published.of(events.PURCHASE_FAILED, purchase["id"]) == []


async def test_a_success_after_a_declined_attempt_pays_the_purchase_and_publishes_no_failure(
    billing: Billing, published: EventTap
) -> None:
    purchase = await billing.purchase()
    status, answer = await billing.post_webhook(
        webhook_body(purchase, "payment.failed", failure_code="card_declined")
    )
    assert (status, answer["outcome"]) == (200, "declined")
    _, declined = await billing.get(f"/purchases/{purchase['id']}")
    assert (declined["status"], declined["failure_reason"]) == ("pending", "card_declined")

    # The buyer's next card, on the same checkout: money taken, so the purchase is paid.
    status, answer = await billing.post_webhook(webhook_body(purchase))

    assert (status, answer["outcome"]) == (200, "paid")
    _, paid = await billing.get(f"/purchases/{purchase['id']}")
    assert (paid["status"], paid["failure_reason"], paid["invoice_number"]) == (
        "paid", None, invoice_number(billing.buyer, 1))
    await published.wait_for(events.PURCHASE_PAID, purchase["id"])
    await published.drain(1.5)
    assert published.of(events.PURCHASE_FAILED, purchase["id"]) == []
    async with billing.pool.acquire() as conn:
        assert await conn.fetchval("SELECT last_number FROM invoice_counters") == 1


async def test_a_signed_event_of_another_type_is_acknowledged_and_ignored(billing: Billing) -> None:
    purchase = await billing.purchase()
    status, answer = await billing.post_webhook(webhook_body(purchase, "payment.refunded"))
    assert (status, answer["outcome"]) == (200, "ignored")
    await _nothing_changed(billing, purchase["id"])


async def test_a_signed_body_that_is_not_a_payment_event_is_malformed(billing: Billing) -> None:
    status, _ = await billing.post_webhook(b'{"id": "evt_1", "type": "payment.succeeded"}')
    assert status == 400
    status, _ = await billing.post_webhook(b"not json")
    assert status == 400
