"""The `stripe` payment provider: PaymentIntents created here, confirmed by the buyer with Stripe.js
on the payment page, settled by Stripe's signed webhooks.

Every write to Stripe carries an idempotency key derived from our own ids (the purchase, the refund,
the person), so a retry after a timeout or a crash returns the first answer instead of charging or
refunding twice. Keys and secrets live in settings as SecretStr and are never logged; errors are
logged by type and code only.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

import asyncpg
import stripe

from common.logs import get_logger
from common.runtime import CleanupCtx
from services.billing.payments.provider import (
    CardSummary,
    CheckoutOrder,
    CheckoutSession,
    PaymentNotice,
    RefundDeclined,
    RefundOrder,
    SavedCard,
)
from services.billing.payments.signatures import TOLERANCE_SECONDS, InvalidSignature
from services.billing.payments.stripe import events, store
from services.billing.payments.stripe.client import StripeApi, unless_unavailable
from services.billing.payments.stripe.page import StripePage
from services.billing.settings import BillingSettings

log = get_logger(__name__)

SIGNATURE_HEADER = "Stripe-Signature"


class StripePaymentProvider:
    name = "stripe"
    failure_is_final = False  # a declined PaymentIntent can still be paid with another card

    def __init__(self, settings: BillingSettings) -> None:
        assert settings.stripe_secret_key and settings.stripe_webhook_secret and settings.stripe_publishable_key
        self._webhook_secret = settings.stripe_webhook_secret
        self._page_base = settings.public_base_url.rstrip("/") + "/stripe-checkout/"
        self.api = StripeApi(settings)
        self.page = StripePage(settings, self.api)

    @property
    def client(self) -> stripe.StripeClient:
        return self.api.client

    async def open_checkout(self, conn: asyncpg.Connection, order: CheckoutOrder) -> CheckoutSession:
        customer = await self._customer(conn, order)
        params: dict[str, Any] = {
            "amount": order.total_cents,
            "currency": order.currency.lower(),
            "payment_method_types": ["card"],
            "metadata": {"purchase_id": str(order.purchase_id), "tenant_id": str(order.tenant_id)},
        }
        if customer:
            params["customer"] = customer  # lets the buyer save the card for auto top-up
        intent = await unless_unavailable(
            self.client.v1.payment_intents.create_async(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": f"purchase:{order.purchase_id}"},
            ),
            "create_payment_intent",
        )
        token = f"cs_stripe_{secrets.token_hex(16)}"  # the page's capability, like a checkout session id
        await store.insert_checkout(conn, token, order.purchase_id, order.tenant_id, intent.id)
        return CheckoutSession(id=intent.id, url=self._page_base + token)

    async def _customer(self, conn: asyncpg.Connection, order: CheckoutOrder) -> str | None:
        if order.buyer_user_id is None:
            return None
        known = await store.customer_of(conn, order.tenant_id, order.buyer_user_id)
        if known:
            return known
        customer = await unless_unavailable(
            self.client.v1.customers.create_async(
                params={"email": order.billing_email or "", "name": order.billing_name or "",
                        "metadata": {"tenant_id": str(order.tenant_id), "user_id": str(order.buyer_user_id)}},
                options={"idempotency_key": f"customer:{order.tenant_id}:{order.buyer_user_id}"},
            ),
            "create_customer",
        )
        await store.save_customer(conn, order.tenant_id, order.buyer_user_id, customer.id)
        return customer.id

    async def read_webhook(self, headers: Mapping[str, str], body: bytes, now: float) -> PaymentNotice | None:
        try:
            stripe.WebhookSignature.verify_header(
                body, headers.get(SIGNATURE_HEADER), self._webhook_secret.get_secret_value(), TOLERANCE_SECONDS
            )
        except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError) as exc:
            raise InvalidSignature("The Stripe signature does not verify.") from exc
        event, intent = events.parse(body)
        if intent is None:
            return None
        succeeded = event.type == "payment_intent.succeeded"
        purchase_id = intent.purchase_id
        card = await self._card_of(intent.payment_method) if purchase_id and intent.payment_method else None
        saved = None
        if succeeded and card and intent.keeps_card:
            assert intent.payment_method is not None
            saved = SavedCard(intent.payment_method, card.brand, card.last4, intent.customer)
        return PaymentNotice(
            event_id=event.id,
            purchase_id=purchase_id,
            session_id=intent.id,
            succeeded=succeeded,
            card=card,
            failure_code=None if succeeded else intent.failure_code,
            saved_card=saved,
        )

    async def _card_of(self, payment_method: str) -> CardSummary | None:
        """Brand and last four, for the invoice (webhooks name the PaymentMethod, not its card)."""
        try:
            method = await unless_unavailable(
                self.client.v1.payment_methods.retrieve_async(payment_method), "retrieve_payment_method"
            )
        except stripe.StripeError as exc:
            log.warning("stripe_payment_method_unreadable", error=type(exc).__name__, code=exc.code)
            return None
        card = getattr(method, "card", None)
        return CardSummary(str(card.brand), str(card.last4)) if card else None

    async def charge_saved_card(
        self, pool: asyncpg.Pool, order: CheckoutOrder, card: SavedCard
    ) -> PaymentNotice | None:
        summary = CardSummary(card.brand, card.last4)
        params: dict[str, Any] = {
            "amount": order.total_cents, "currency": order.currency.lower(), "customer": card.customer_ref,
            "payment_method": card.token, "payment_method_types": ["card"], "off_session": True,
            "confirm": True, "metadata": {"purchase_id": str(order.purchase_id), "tenant_id": str(order.tenant_id)},
        }
        try:
            intent = await unless_unavailable(
                self.client.v1.payment_intents.create_async(
                    params=params,  # type: ignore[arg-type]
                    options={"idempotency_key": f"purchase:{order.purchase_id}"},
                ),
                "charge_saved_card",
            )
        except stripe.CardError as exc:
            declined = getattr(getattr(exc, "error", None), "payment_intent", None)
            return PaymentNotice(f"charge:{order.purchase_id}", order.purchase_id, getattr(declined, "id", None),
                                 False, summary, exc.code or "card_declined")
        if intent.status == "processing":
            return None  # the webhook brings the outcome
        succeeded = intent.status == "succeeded"
        return PaymentNotice(f"charge:{order.purchase_id}", order.purchase_id, intent.id, succeeded, summary,
                             None if succeeded else intent.status)

    async def refund(self, pool: asyncpg.Pool, order: RefundOrder) -> str:
        try:
            refund = await unless_unavailable(
                self.client.v1.refunds.create_async(
                    params={"payment_intent": order.payment_ref, "amount": order.amount_cents,
                            "metadata": {"refund_id": str(order.refund_id), "purchase_id": str(order.purchase_id)}},
                    options={"idempotency_key": f"refund:{order.refund_id}"},
                ),
                "create_refund",
            )
        except stripe.StripeError as exc:  # the transient ones were turned into ProviderUnavailable
            raise RefundDeclined(exc.code or type(exc).__name__) from exc
        if refund.status in ("failed", "canceled"):
            raise RefundDeclined(getattr(refund, "failure_reason", None) or str(refund.status))
        return str(refund.id)

    def contexts(self) -> list[CleanupCtx]:
        return [self.api.context]
