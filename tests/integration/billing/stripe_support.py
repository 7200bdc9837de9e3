"""Speaking to localstripe as the buyer's browser (Stripe.js) and Stripe itself would, and building
signed Stripe webhooks with the SDK's signature helper."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import aiohttp
import stripe

STRIPE_SECRET_KEY = "sk_test_billing_tests_0123456789"
STRIPE_PUBLISHABLE_KEY = "pk_test_billing_tests_0123456789"
STRIPE_WEBHOOK_SECRET = "whsec_billing_tests_0123456789"
GOOD_CARD, DECLINED_CARD = "4242424242424242", "4000000000000341"


class StripeTestClient:
    def __init__(self, base: str, session: aiohttp.ClientSession) -> None:
        self._base, self._session = base, session
        self.client = stripe.StripeClient(
            STRIPE_SECRET_KEY, http_client=stripe.AIOHTTPClient(session=session), base_addresses={"api": base},
            max_network_retries=0,
        )

    async def payment_method(self, number: str = GOOD_CARD, customer: str | None = None) -> str:
        method = await self.client.v1.payment_methods.create_async(
            params={"type": "card", "card": {"number": number, "exp_month": 12, "exp_year": 2035, "cvc": "123"}}
        )
        if customer:
            await self.client.v1.payment_methods.attach_async(method.id, params={"customer": customer})
        return str(method.id)

    async def pay_in_browser(self, payment_intent_id: str, number: str = GOOD_CARD) -> str:
        """What Stripe.js does on the payment page: attach the card and confirm. Answers the status
        Stripe reports, or the decline code."""
        method = await self.payment_method(number)
        # localstripe cannot confirm with a payment method given at once: set it, then confirm.
        await self.client.v1.payment_intents.update_async(payment_intent_id, params={"payment_method": method})
        try:
            intent = await self.client.v1.payment_intents.confirm_async(payment_intent_id)
        except stripe.CardError as exc:
            return str(exc.code)
        return str(intent.status)

    async def payment_intent(self, payment_intent_id: str) -> Any:
        return await self.client.v1.payment_intents.retrieve_async(payment_intent_id)

    async def forget_charge(self, payment_intent_id: str) -> None:
        """Make Stripe refuse refunds of this payment: localstripe then no longer knows its charge."""
        intent = await self.payment_intent(payment_intent_id)
        charge = intent.latest_charge
        charge_id = charge if isinstance(charge, str) else charge["id"]
        async with self._session.delete(f"{self._base}/v1/charges/{charge_id}",
                                        headers={"Authorization": f"Bearer {STRIPE_SECRET_KEY}"}) as response:
            assert response.status == 200, await response.text()

    async def customer(self) -> str:
        created = await self.client.v1.customers.create_async(params={"email": "saved@example.com"})
        return str(created.id)


def stripe_event(
    event_type: str,
    payment_intent_id: str,
    purchase_id: str | None,
    event_id: str | None = None,
    **intent: Any,
) -> bytes:
    metadata = {"purchase_id": purchase_id} if purchase_id else {}
    obj = {"id": payment_intent_id, "object": "payment_intent", "metadata": metadata, **intent}
    event = {"id": event_id or f"evt_{uuid.uuid4().hex[:24]}", "object": "event", "type": event_type,
             "created": int(time.time()), "data": {"object": obj}}
    return json.dumps(event).encode()


def signature(body: bytes, secret: str = STRIPE_WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    return str(stripe.WebhookSignature.generate_signature_header(body.decode(), secret, timestamp))
