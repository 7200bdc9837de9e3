"""The Stripe provider against localstripe (a fake Stripe API started by the fixtures) and against
signed webhooks built with the SDK's signature helper: nothing here needs the internet."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from structlog.testing import capture_logs

from common.contracts import events
from tests.integration.billing.harness import Billing, EventTap, invoice_number
from tests.integration.billing.stripe_support import (
    DECLINED_CARD,
    StripeTestClient,
    signature,
    stripe_event,
)
from tests.support import eventually

SUCCEEDED, FAILED = "payment_intent.succeeded", "payment_intent.payment_failed"


async def payment_intent_of(billing: Billing, purchase: dict[str, Any]) -> str:
    async with billing.pool.acquire() as conn:
        value = await conn.fetchval(
            "SELECT checkout_session_id FROM purchases WHERE id = $1", uuid.UUID(purchase["id"])
        )
    return str(value)


async def post_webhook(billing: Billing, body: bytes, sig: str | None = None) -> tuple[int, Any]:
    response = await billing.client.post("/webhooks/stripe", data=body, headers={
        "Content-Type": "application/json", "Stripe-Signature": sig if sig is not None else signature(body)})
    return response.status, await response.json()


async def counts(billing: Billing) -> tuple[int, int, int]:
    async with billing.pool.acquire() as conn:
        return (await conn.fetchval("SELECT count(*) FROM outbox"),
                await conn.fetchval("SELECT coalesce(max(last_number), 0) FROM invoice_counters"),
                await conn.fetchval("SELECT count(*) FROM email_outbox"))


async def test_a_payment_confirmed_with_stripe_is_paid_by_its_signed_webhook(
    stripe_billing: Billing, stripe_client: StripeTestClient, billing_events: EventTap
) -> None:
    billing = stripe_billing
    purchase = await billing.purchase(quantity=1000)
    assert purchase["checkout_url"].startswith("http://127.0.0.1:8080/stripe-checkout/cs_stripe_")
    intent_id = await payment_intent_of(billing, purchase)
    intent = await stripe_client.payment_intent(intent_id)
    assert (intent.amount, intent.currency, intent.metadata["purchase_id"]) == (8800, "aud", purchase["id"])

    assert await stripe_client.pay_in_browser(intent_id) == "succeeded"
    await billing.wait_for_status(purchase["id"], "paid")  # localstripe's own signed webhook did it

    _, paid = await billing.get(f"/purchases/{purchase['id']}")
    assert (paid["invoice_number"], paid["failure_reason"]) == (invoice_number(billing.buyer, 1), None)
    async with billing.pool.acquire() as conn:
        card = await conn.fetchrow("SELECT card_brand, card_last4 FROM purchases")
    assert (card["card_brand"], card["card_last4"]) == ("visa", "4242")
    event = await billing_events.wait_for(events.PURCHASE_PAID, purchase["id"])
    assert event.payload(events.PurchasePaid).total_cents == 8800


async def test_a_declined_card_keeps_the_purchase_pending_from_the_payment_failed_webhook_and_another_card_pays(
    stripe_billing: Billing, stripe_client: StripeTestClient, billing_events: EventTap
) -> None:
    purchase = await stripe_billing.purchase()
    intent_id = await payment_intent_of(stripe_billing, purchase)
    assert await stripe_client.pay_in_browser(intent_id, DECLINED_CARD) == "card_declined"

    async def decline_recorded() -> bool:  # localstripe's own signed payment_failed webhook
        _, read = await stripe_billing.get(f"/purchases/{purchase['id']}")
        return read["failure_reason"] is not None

    await eventually(decline_recorded)
    _, declined = await stripe_billing.get(f"/purchases/{purchase['id']}")
    assert (declined["status"], declined["failure_reason"], declined["invoice_number"]) == (
        "pending", "card_declined", None)
    assert declined["checkout_url"] == purchase["checkout_url"]  # the same page takes another card

    # The buyer's next card succeeds on the same PaymentIntent. localstripe cannot confirm an intent again
    # after a failed charge (Stripe can), so Stripe's signed success is sent as Stripe would send it.
    status, answer = await post_webhook(stripe_billing, stripe_event(SUCCEEDED, intent_id, purchase["id"]))
    assert (status, answer["outcome"]) == (200, "paid")

    _, paid = await stripe_billing.get(f"/purchases/{purchase['id']}")
    assert (paid["failure_reason"], paid["invoice_number"]) == (None, invoice_number(stripe_billing.buyer, 1))
    await billing_events.wait_for(events.PURCHASE_PAID, purchase["id"])
    await billing_events.drain(1.5)  # longer than the relay's poll: a failure event would have arrived
    assert billing_events.of(events.PURCHASE_FAILED, purchase["id"]) == []


async def test_a_webhook_retried_three_times_is_processed_once(stripe_billing: Billing) -> None:
    purchase = await stripe_billing.purchase()
    body = stripe_event(SUCCEEDED, await payment_intent_of(stripe_billing, purchase), purchase["id"])
    outcomes = []
    for attempt in range(3):  # Stripe signs each retry anew, with the same event id
        status, answer = await post_webhook(stripe_billing, body, signature(body, timestamp=int(time.time()) - attempt))
        outcomes.append((status, answer["outcome"]))

    assert outcomes == [(200, "paid"), (200, "duplicate"), (200, "duplicate")]
    assert await counts(stripe_billing) == (1, 1, 1)  # one event, one invoice number, one email owed


async def test_a_webhook_with_a_bad_signature_is_refused_and_changes_nothing(stripe_billing: Billing) -> None:
    purchase = await stripe_billing.purchase()
    body = stripe_event(SUCCEEDED, await payment_intent_of(stripe_billing, purchase), purchase["id"])
    stale = int(time.time()) - 301  # outside the five-minute tolerance
    for sig in (signature(body, secret="whsec_someone_else"), signature(body, timestamp=stale), "t=1,v1=00", ""):
        status, problem = await post_webhook(stripe_billing, body, sig)
        assert (status, problem["type"]) == (400, "/problems/invalid-signature")
    tampered = body.replace(b'"object": "payment_intent"', b'"object": "payment_intent", "x": 1')
    assert (await post_webhook(stripe_billing, tampered, signature(body)))[0] == 400

    assert await stripe_billing.status_of(purchase["id"]) == "pending"
    assert await counts(stripe_billing) == (0, 0, 0)


async def test_a_webhook_for_an_unknown_payment_intent_is_logged_acknowledged_and_changes_nothing(
    stripe_billing: Billing,
) -> None:
    purchase = await stripe_billing.purchase()
    strangers = [stripe_event(SUCCEEDED, "pi_NotOneOfOurs", None),
                 stripe_event(SUCCEEDED, "pi_NotOneOfOurs", str(uuid.uuid4())),
                 stripe_event(SUCCEEDED, "pi_Mismatched", purchase["id"])]
    with capture_logs() as logs:
        answers = [await post_webhook(stripe_billing, body) for body in strangers]

    assert answers == [(200, {"received": True, "outcome": "unknown_purchase"})] * 3
    assert sum(1 for entry in logs if entry["event"] == "payment_notice_for_unknown_purchase") == 3
    assert await stripe_billing.status_of(purchase["id"]) == "pending"
    assert await counts(stripe_billing) == (0, 0, 0)


async def test_webhooks_out_of_order_still_leave_money_taken_paid(stripe_billing: Billing) -> None:
    first, second = await stripe_billing.purchase(), await stripe_billing.purchase()
    first_intent, second_intent = [await payment_intent_of(stripe_billing, p) for p in (first, second)]
    failure: dict[str, Any] = {"last_payment_error": {"code": "card_declined"}}
    # Success, then a late failure of an earlier attempt: ignored.
    await post_webhook(stripe_billing, stripe_event(SUCCEEDED, first_intent, first["id"]))
    status, answer = await post_webhook(stripe_billing, stripe_event(FAILED, first_intent, first["id"], **failure))
    assert (status, answer["outcome"]) == (200, "ignored")
    # A failed attempt, then the buyer's second card succeeds on the same PaymentIntent: paid.
    status, answer = await post_webhook(stripe_billing, stripe_event(FAILED, second_intent, second["id"], **failure))
    assert (status, answer["outcome"]) == (200, "declined")
    _, declined = await stripe_billing.get(f"/purchases/{second['id']}")
    assert (declined["status"], declined["failure_reason"]) == ("pending", "card_declined")
    status, answer = await post_webhook(stripe_billing, stripe_event(SUCCEEDED, second_intent, second["id"]))
    assert (status, answer["outcome"]) == (200, "paid")
    _, paid = await stripe_billing.get(f"/purchases/{second['id']}")
    assert (paid["status"], paid["failure_reason"]) == ("paid", None)
    assert await stripe_billing.status_of(first["id"]) == "paid"


async def test_invoice_numbers_stay_gapless_under_50_concurrent_paid_webhooks(stripe_billing: Billing) -> None:
    purchases = [await stripe_billing.purchase(quantity=100 + i) for i in range(60)]
    bodies = []
    for index, purchase in enumerate(purchases):
        kind = FAILED if index % 6 == 5 else SUCCEEDED  # ten declines mixed in take no number (and stay pending)
        bodies.append(stripe_event(kind, await payment_intent_of(stripe_billing, purchase), purchase["id"]))

    answers = await asyncio.gather(*(post_webhook(stripe_billing, body) for body in bodies))

    assert sorted(a["outcome"] for _, a in answers) == ["declined"] * 10 + ["paid"] * 50
    async with stripe_billing.pool.acquire() as conn:
        numbers = sorted(r["invoice_number"] for r in await conn.fetch(
            "SELECT invoice_number FROM purchases WHERE invoice_number IS NOT NULL"))
    assert numbers == [invoice_number(stripe_billing.buyer, n) for n in range(1, 51)]
    statuses = [await stripe_billing.status_of(p["id"]) for index, p in enumerate(purchases) if index % 6 == 5]
    assert statuses == ["pending"] * 10
