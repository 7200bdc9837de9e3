"""Stripe beyond the checkout: refunds, saved cards charged off session by auto top-up, the payment
page, and the gateway's forwarding of Stripe's webhooks, all against localstripe."""

from __future__ import annotations

from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from common.contracts import events
from common.identity import Identity, issue_internal_token
from common.web import observability_middleware
from gateway.clients import BillingClient, ServiceClient
from gateway.resources import BILLING
from gateway.routes.payments import stripe_webhook
from tests.integration.billing.harness import INTERNAL_SECRET, Billing, EventTap, note_number
from tests.integration.billing.ledger_support import credit_of, next_seq, publish, spent_down_to
from tests.integration.billing.stripe_support import (
    DECLINED_CARD,
    GOOD_CARD,
    STRIPE_PUBLISHABLE_KEY,
    STRIPE_SECRET_KEY,
    StripeTestClient,
    signature,
    stripe_event,
)
from tests.integration.billing.test_billing_refunds import ask_refund, ledger_debits, settled
from tests.integration.billing.test_billing_stripe import payment_intent_of, post_webhook
from tests.integration.billing.test_billing_topups import set_auto_top_up, top_ups, wait_for_top_ups


async def paid_with_stripe(billing: Billing, stripe_client: StripeTestClient, quantity: int = 1000) -> dict[str, Any]:
    purchase = await billing.purchase(quantity)
    assert await stripe_client.pay_in_browser(await payment_intent_of(billing, purchase)) == "succeeded"
    await billing.wait_for_status(purchase["id"], "paid")
    await publish(billing, credit_of(purchase, billing.buyer.tenant_id, next_seq()))
    await billing.wait_for_status(purchase["id"], "credited")
    return purchase


async def test_a_refund_goes_back_through_stripe_keyed_by_the_refund(
    stripe_billing: Billing, stripe_client: StripeTestClient, billing_events: EventTap
) -> None:
    purchase = await paid_with_stripe(stripe_billing, stripe_client)
    status, refund = await ask_refund(stripe_billing, purchase, 250)
    assert status == 201
    await ledger_debits(stripe_billing, billing_events, purchase, refund["id"])
    done = await settled(stripe_billing, purchase, refund["id"])

    assert (done["status"], done["total"]) == ("refunded", "22.00")
    assert done["adjustment_note_number"] == note_number(stripe_billing.buyer, 1)
    intent = await payment_intent_of(stripe_billing, purchase)
    refunds = await stripe_client.client.v1.refunds.list_async(params={"payment_intent": intent})
    assert [(r.amount, r.to_dict()["metadata"]["refund_id"]) for r in refunds.data] == [(2200, refund["id"])]


async def test_a_refund_stripe_refuses_fails_and_asks_for_the_credits_back(
    stripe_billing: Billing, stripe_client: StripeTestClient, billing_events: EventTap
) -> None:
    purchase = await paid_with_stripe(stripe_billing, stripe_client)
    await stripe_client.forget_charge(await payment_intent_of(stripe_billing, purchase))
    _, refund = await ask_refund(stripe_billing, purchase, 1000)
    await ledger_debits(stripe_billing, billing_events, purchase, refund["id"])

    done = await settled(stripe_billing, purchase, refund["id"])
    assert done["status"] == "failed" and done["adjustment_note_url"] is None
    failed = await billing_events.wait_for(events.REFUND_FAILED, purchase["id"])
    assert failed.payload(events.RefundFailed).quantity == 1000


async def save_card_at_checkout(billing: Billing, stripe_client: StripeTestClient, number: str) -> None:
    """A checkout where the buyer ticked "save this card": Stripe reports setup_future_usage."""
    customer = await stripe_client.customer()
    method = await stripe_client.payment_method(number, customer)
    purchase = await billing.purchase()
    body = stripe_event("payment_intent.succeeded", await payment_intent_of(billing, purchase), purchase["id"],
                        payment_method=method, customer=customer, setup_future_usage="off_session")
    assert (await post_webhook(billing, body))[1]["outcome"] == "paid"


async def test_auto_top_up_charges_the_saved_card_off_session(
    stripe_billing: Billing, stripe_client: StripeTestClient
) -> None:
    await save_card_at_checkout(stripe_billing, stripe_client, GOOD_CARD)
    status, config = await set_auto_top_up(stripe_billing, threshold=100, quantity=2000)
    assert status == 200 and config["card"] == {"brand": "visa", "last4": "4242"}

    await publish(stripe_billing, spent_down_to(stripe_billing.buyer.tenant_id, "system", 10, next_seq()))
    [top_up] = await wait_for_top_ups(stripe_billing, 1, "paid")
    _, purchase = await stripe_billing.get(f"/purchases/{top_up['purchase_id']}")
    intent = await stripe_client.payment_intent(await payment_intent_of(stripe_billing, purchase))
    assert (intent.status, intent.amount, intent.metadata["purchase_id"]) == ("succeeded", 17600, purchase["id"])


async def test_a_declined_off_session_charge_suspends_auto_top_up_after_one_attempt(
    stripe_billing: Billing, stripe_client: StripeTestClient, billing_events: EventTap
) -> None:
    await save_card_at_checkout(stripe_billing, stripe_client, DECLINED_CARD)
    await set_auto_top_up(stripe_billing)
    tenant = stripe_billing.buyer.tenant_id

    await publish(stripe_billing, *(spent_down_to(tenant, "system", 10, next_seq()) for _ in range(3)))
    [attempt] = await wait_for_top_ups(stripe_billing, 1, "failed")
    failed = await billing_events.wait_for(events.TOP_UP_FAILED, str(attempt["purchase_id"]))
    assert failed.payload(events.TopUpFailed).reason == "card_declined"
    await publish(stripe_billing, spent_down_to(tenant, "system", 5, next_seq()))
    await billing_events.drain(0.5)
    assert len(await top_ups(stripe_billing)) == 1


async def test_the_payment_page_carries_the_publishable_key_and_client_secret_never_the_secret_key(
    stripe_billing: Billing, stripe_client: StripeTestClient, localstripe: str
) -> None:
    purchase = await stripe_billing.purchase()
    token = purchase["checkout_url"].rsplit("/", 1)[-1]
    service = {"Authorization": "Bearer " + issue_internal_token(Identity(role="service"), INTERNAL_SECRET, "billing")}
    page = await (await stripe_billing.client.get(f"/stripe/pages/{token}", headers=service)).json()
    intent = await stripe_client.payment_intent(await payment_intent_of(stripe_billing, purchase))

    assert page["status"] == "open" and localstripe in page["origins"]
    assert STRIPE_PUBLISHABLE_KEY in page["html"] and intent.client_secret in page["html"]
    assert STRIPE_SECRET_KEY not in page["html"] and 'src="/stripe-checkout.js"' in page["html"]
    session = await (await stripe_billing.client.get(f"/checkout-sessions/{token}", headers=service)).json()
    assert (session["purchase_id"], session["status"], session["total"]) == (purchase["id"], "open", "88.00")
    response = await stripe_billing.client.get("/checkout-sessions/cs_stripe_unknown", headers=service)
    assert response.status == 404


async def test_the_gateway_forwards_stripes_webhooks_byte_for_byte(stripe_billing: Billing) -> None:
    purchase = await stripe_billing.purchase()
    body = stripe_event("payment_intent.succeeded", await payment_intent_of(stripe_billing, purchase), purchase["id"])
    app = web.Application(middlewares=[observability_middleware("gateway")])
    app.router.add_post("/webhooks/stripe", stripe_webhook)
    async with aiohttp.ClientSession() as session:
        app[BILLING] = BillingClient(ServiceClient("billing", f"http://127.0.0.1:{stripe_billing.settings.port}",
                                                   INTERNAL_SECRET, session, 5))
        async with TestClient(TestServer(app)) as gateway:
            bad = await gateway.post("/webhooks/stripe", data=body, headers={"Stripe-Signature": "t=1,v1=0"})
            good = await gateway.post("/webhooks/stripe", data=body, headers={
                "Stripe-Signature": signature(body), "Content-Type": "application/json"})
            assert bad.status == 400 and good.status == 200
            assert (await good.json())["outcome"] == "paid"
    assert await stripe_billing.status_of(purchase["id"]) == "paid"
