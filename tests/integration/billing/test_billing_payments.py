from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest

from common.contracts import events
from fakes.payments.cards import CardDetails
from fakes.payments.provider import TestPaymentProvider
from services.billing.resources import PROVIDER
from tests.integration.billing.harness import (
    Billing,
    Buyer,
    EventTap,
    card,
    invoice_number,
    session_of,
    webhook_body,
)
from tests.support import eventually


async def test_paying_with_a_good_card_marks_the_purchase_paid_and_publishes_it_once(
    billing: Billing, published: EventTap
) -> None:
    purchase = await billing.purchase(quantity=10000)

    status, answer = await billing.pay(purchase)

    assert status == 200
    assert answer == {"purchase_id": purchase["id"], "tenant_id": str(billing.buyer.tenant_id),
                      "outcome": "succeeded", "failure_code": None}
    _, paid = await billing.get(f"/purchases/{purchase['id']}")
    assert paid["status"] == "paid"
    assert paid["invoice_number"] == invoice_number(billing.buyer, 1)
    assert paid["invoice_url"] == f"/api/v1/purchases/{purchase['id']}/invoice.pdf"
    assert paid["paid_at"] is not None
    event = await published.wait_for(events.PURCHASE_PAID, purchase["id"])
    payload = event.payload(events.PurchasePaid)
    assert event.subject == f"tenants/{billing.buyer.tenant_id}/accounts/{purchase['account_id']}"
    assert event.source == "/sms-credits/billing"
    assert event.requestid is not None  # the payment's request, carried to every service it reaches
    assert (payload.quantity, payload.total_cents) == (10000, 77000)
    assert payload.invoice_number == invoice_number(billing.buyer, 1)
    assert (payload.account_code, payload.buyer_user_id) == ("system", billing.buyer.user_id)


async def test_a_webhook_delivered_twice_pays_and_publishes_once(billing: Billing, published: EventTap) -> None:
    purchase = await billing.purchase()
    await billing.pay(purchase)
    async with billing.pool.acquire() as conn:
        sent = await conn.fetchval("SELECT body FROM test_provider_webhooks")

    status, answer = await billing.post_webhook(sent.encode())

    assert (status, answer["outcome"]) == (200, "duplicate")
    await published.wait_for(events.PURCHASE_PAID, purchase["id"])
    await published.drain(1.5)  # longer than the relay's poll: a second event would have arrived
    assert len(published.of(events.PURCHASE_PAID, purchase["id"])) == 1
    async with billing.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM outbox") == 1
        assert await conn.fetchval("SELECT last_number FROM invoice_counters") == 1


@pytest.mark.parametrize(
    ("number", "failure_code"), [("4000000000000002", "card_declined"), ("4000000000009995", "insufficient_funds")]
)
async def test_a_declined_card_keeps_the_purchase_pending_publishes_no_failure_and_another_card_pays(
    billing: Billing, published: EventTap, number: str, failure_code: str
) -> None:
    purchase = await billing.purchase()

    status, answer = await billing.pay(purchase, number)

    # One attempt declined, not the purchase: it stays pending on the same, still open checkout.
    assert (status, answer["outcome"], answer["failure_code"]) == (200, "declined", failure_code)
    _, declined = await billing.get(f"/purchases/{purchase['id']}")
    assert (declined["status"], declined["failure_reason"], declined["invoice_number"]) == (
        "pending", failure_code, None)
    assert declined["checkout_url"] == purchase["checkout_url"]
    _, session = await billing.get(f"/checkout-sessions/{session_of(purchase)}")
    assert session["status"] == "open"
    async with billing.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM invoice_counters") == 0
        assert await conn.fetchval("SELECT count(*) FROM outbox") == 0  # no billing.purchase.failed owed

    status, answer = await billing.pay(purchase)  # "Try another card", on the same checkout

    assert (status, answer["outcome"], answer["failure_code"]) == (200, "succeeded", None)
    _, paid = await billing.get(f"/purchases/{purchase['id']}")
    assert (paid["status"], paid["failure_reason"], paid["invoice_number"]) == (
        "paid", None, invoice_number(billing.buyer, 1))
    await published.wait_for(events.PURCHASE_PAID, purchase["id"])
    await published.drain(1.5)  # longer than the relay's poll: a failure event would have arrived
    assert published.of(events.PURCHASE_FAILED, purchase["id"]) == []
    assert len(published.of(events.PURCHASE_PAID, purchase["id"])) == 1
    async with billing.pool.acquire() as conn:
        attempts = await conn.fetch(
            "SELECT outcome, failure_code FROM test_provider_charges WHERE session_id = $1 ORDER BY created_at",
            session_of(purchase))
    assert [(a["outcome"], a["failure_code"]) for a in attempts] == [("declined", failure_code), ("succeeded", None)]
    assert (await billing.pay(purchase))[0] == 409  # paid now: the checkout takes no third card


async def test_an_invalid_card_is_refused_per_field_and_the_session_stays_open(billing: Billing) -> None:
    purchase = await billing.purchase()
    bad = {**card("4242424242424241", cvc="12"), "exp_month": 13}
    response = await billing.client.post(
        f"/checkout-sessions/{session_of(purchase)}/pay", json=bad, headers=billing.headers()
    )

    assert response.status == 422
    fields = {error["field"] for error in (await response.json())["errors"]}
    assert fields == {"card_number", "exp_month", "cvc"}
    _, session = await billing.get(f"/checkout-sessions/{session_of(purchase)}")
    assert session["status"] == "open"
    assert await billing.status_of(purchase["id"]) == "pending"


async def test_an_expired_card_is_refused(billing: Billing) -> None:
    purchase = await billing.purchase()
    today = datetime.now(UTC).date()
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    expired = {**card(), "exp_month": month, "exp_year": year}
    response = await billing.client.post(
        f"/checkout-sessions/{session_of(purchase)}/pay", json=expired, headers=billing.headers()
    )
    assert response.status == 422
    assert (await response.json())["errors"][0]["field"] == "exp_year"


async def test_a_completed_session_cannot_be_paid_again(billing: Billing) -> None:
    purchase = await billing.purchase()
    results = await asyncio.gather(billing.pay(purchase), billing.pay(purchase))

    assert sorted(status for status, _ in results) == [200, 409]
    async with billing.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM test_provider_charges") == 1


async def test_the_checkout_session_shows_what_is_being_paid_and_only_brand_and_last4_are_kept(
    billing: Billing,
) -> None:
    purchase = await billing.purchase(quantity=10000)
    status, session = await billing.get(f"/checkout-sessions/{session_of(purchase)}")
    assert status == 200
    assert session == {
        "session_id": session_of(purchase), "purchase_id": purchase["id"],
        "tenant_id": str(billing.buyer.tenant_id), "status": "open", "quantity": 10000, "total": "770.00",
        "currency": "AUD", "description": "10,000 SMS credits",
    }
    assert (await billing.get("/checkout-sessions/cs_test_unknown"))[0] == 404

    await billing.pay(purchase)
    async with billing.pool.acquire() as conn:
        charge = await conn.fetchrow("SELECT card_brand, card_last4 FROM test_provider_charges")
        stored = " ".join(str(v) for r in await conn.fetch("SELECT * FROM test_provider_charges") for v in r.values())
    assert (charge["card_brand"], charge["card_last4"]) == ("visa", "4242")
    assert "4242424242424242" not in stored


async def test_a_webhook_lost_to_a_crash_after_the_charge_is_sent_again(billing: Billing) -> None:
    purchase = await billing.purchase()
    provider = billing.app[PROVIDER]
    assert isinstance(provider, TestPaymentProvider)
    details = CardDetails("4242424242424242", 12, datetime.now(UTC).year + 1, "123", "Jo")
    # The charge commits, then the process "dies" before sending the webhook.
    await provider.checkout.charge(billing.pool, session_of(purchase), details, datetime.now(UTC).date())

    await billing.wait_for_status(purchase["id"], "paid")

    async def acknowledged() -> bool:
        async with billing.pool.acquire() as conn:
            return bool(await conn.fetchval("SELECT delivered_at IS NOT NULL FROM test_provider_webhooks"))

    await eventually(acknowledged)


async def test_invoice_numbers_have_no_gaps_under_50_concurrent_payments(billing: Billing) -> None:
    purchases = [await billing.purchase() for _ in range(50)]

    results = await asyncio.gather(*(billing.post_webhook(webhook_body(p)) for p in purchases))

    assert {status for status, _ in results} == {200}
    async with billing.pool.acquire() as conn:
        numbers = await conn.fetch("SELECT invoice_number FROM purchases WHERE status = 'paid'")
        assert await conn.fetchval("SELECT count(*) FROM outbox") == 50
    assert sorted(r["invoice_number"] for r in numbers) == [invoice_number(billing.buyer, n) for n in range(1, 51)]


async def test_each_tenant_numbers_its_own_invoices(billing: Billing) -> None:
    other = Buyer()
    mine, theirs = await billing.purchase(), await billing.purchase(buyer=other)
    await billing.post_webhook(webhook_body(mine))
    await billing.post_webhook(webhook_body(theirs))
    async with billing.pool.acquire() as conn:
        numbers = await conn.fetch("SELECT invoice_number FROM purchases")
    # Each its own series, and never the same number: both are issued under the one supplier ABN.
    assert sorted(r["invoice_number"] for r in numbers) == sorted([invoice_number(billing.buyer, 1),
                                                                   invoice_number(other, 1)])
    assert invoice_number(billing.buyer, 1) != invoice_number(other, 1)
    assert uuid.UUID(mine["id"]) != uuid.UUID(theirs["id"])
