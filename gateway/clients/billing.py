"""Billing's API as the gateway calls it: quotes, purchases and their invoices, refunds, auto top-up,
saved billing details, price lists, and the payment pages and webhooks billing serves through the
gateway."""

from __future__ import annotations

import uuid
from typing import Any

from common.contracts import billing
from common.contracts.billing import (
    AutoTopUpSettings,
    AutoTopUpView,
    BillingProfileView,
    CheckoutSession,
    PriceListRequest,
    PriceListView,
    Purchase,
    PurchaseOrder,
    PurchasePage,
    Quote,
    QuoteQuery,
    RefundRequest,
    RefundView,
    StripePage,
)
from common.identity import Identity
from gateway.clients.base import Answer, TypedClient
from gateway.schemas.billing import AutoTopUpRequest
from gateway.schemas.credits import CardPayment

# Stripe retries a webhook that was not answered, so that is what its 503 says.
_WEBHOOK_UNAVAILABLE = "The billing service is unavailable; the webhook will be retried."


class BillingClient(TypedClient):
    async def quote(self, identity: Identity, quantity: int) -> Quote:
        query = QuoteQuery(quantity=quantity).model_dump()
        return Quote.model_validate(await self._service.call("GET", "/quotes", identity, query=query))

    async def create_purchase(self, identity: Identity, order: PurchaseOrder, idempotency_key: str) -> Purchase:
        """The purchase started (or, for a replayed key, as it is now)."""
        answer = await self._service.call("POST", "/purchases", identity, body=order.model_dump(mode="json"),
                                          headers={"Idempotency-Key": idempotency_key})
        return Purchase.model_validate(answer)

    async def purchase(self, identity: Identity, purchase_id: uuid.UUID | str) -> Purchase:
        """The purchase if it is the identity's tenant's; billing answers 404 otherwise."""
        return Purchase.model_validate(await self.purchase_as_answered(identity, purchase_id))

    async def purchases(self, identity: Identity, query: billing.PurchasesQuery) -> PurchasePage:
        """A page of the identity's tenant's purchases (billing checks the cursor: 400 if not its own)."""
        return PurchasePage.model_validate(await self._service.call("GET", "/purchases", identity,
                                                                     query=query.params()))

    async def purchase_as_answered(self, identity: Identity, purchase_id: uuid.UUID | str) -> dict[str, Any]:
        """Billing's purchase, whole and as it answered it: for the pages that render or relay it."""
        answer: dict[str, Any] = await self._service.call("GET", f"/purchases/{purchase_id}", identity)
        return answer

    async def invoice_pdf(self, identity: Identity, purchase_id: uuid.UUID | str) -> bytes:
        return (await self._pdf(identity, f"/purchases/{purchase_id}/invoice.pdf")).body

    async def request_refund(
        self, identity: Identity, purchase_id: uuid.UUID, quantity: int, idempotency_key: str | None
    ) -> RefundView:
        answer = await self._service.call(
            "POST", f"/purchases/{purchase_id}/refunds", identity, body=RefundRequest(quantity=quantity).model_dump(),
            headers={"Idempotency-Key": idempotency_key} if idempotency_key else None,
        )
        return RefundView.model_validate(answer)

    async def refund(self, identity: Identity, purchase_id: uuid.UUID, refund_id: uuid.UUID) -> RefundView:
        answer = await self._service.call("GET", f"/purchases/{purchase_id}/refunds/{refund_id}", identity)
        return RefundView.model_validate(answer)

    async def refunds(self, identity: Identity, purchase_id: uuid.UUID) -> list[RefundView]:
        answer = await self._service.call("GET", f"/purchases/{purchase_id}/refunds", identity)
        return [RefundView.model_validate(r) for r in answer]

    async def adjustment_note_pdf(self, identity: Identity, purchase_id: uuid.UUID, refund_id: uuid.UUID) -> bytes:
        return (await self._pdf(identity, f"/purchases/{purchase_id}/refunds/{refund_id}/adjustment-note.pdf")).body

    async def set_auto_top_up(
        self, identity: Identity, account_id: uuid.UUID, account_code: str, settings: AutoTopUpRequest
    ) -> AutoTopUpView:
        wanted = AutoTopUpSettings(account_code=account_code, **settings.model_dump())
        answer = await self._service.call("PUT", f"/accounts/{account_id}/auto-top-up", identity,
                                          body=wanted.model_dump())
        return AutoTopUpView.model_validate(answer)

    async def auto_top_up(self, identity: Identity, account_id: uuid.UUID) -> AutoTopUpView:
        answer = await self._service.call("GET", f"/accounts/{account_id}/auto-top-up", identity)
        return AutoTopUpView.model_validate(answer)

    async def turn_off_auto_top_up(self, identity: Identity, account_id: uuid.UUID) -> AutoTopUpView:
        answer = await self._service.call("DELETE", f"/accounts/{account_id}/auto-top-up", identity)
        return AutoTopUpView.model_validate(answer)

    async def billing_profile(self, identity: Identity) -> BillingProfileView:
        return BillingProfileView.model_validate(await self._service.call("GET", "/billing-profile", identity))

    async def set_price_list(self, identity: Identity, tenant_id: uuid.UUID, prices: PriceListRequest) -> PriceListView:
        # Only what was sent: a validity left out (unchanged) must not become null (never expire).
        answer = await self._service.call("PUT", f"/price-lists/{tenant_id}", identity,
                                          body=prices.model_dump(mode="json", exclude_unset=True))
        return PriceListView.model_validate(answer)

    async def price_list(self, identity: Identity, tenant_id: uuid.UUID) -> PriceListView:
        return PriceListView.model_validate(await self._service.call("GET", f"/price-lists/{tenant_id}", identity))

    async def checkout_session(self, identity: Identity, session_id: str) -> CheckoutSession:
        answer = await self._service.call("GET", f"/checkout-sessions/{session_id}", identity)
        return CheckoutSession.model_validate(answer)

    async def pay_checkout(self, identity: Identity, session_id: str, card: CardPayment) -> None:
        await self._service.call("POST", f"/checkout-sessions/{session_id}/pay", identity, body=card.model_dump())

    async def stripe_page(self, identity: Identity, token: str) -> StripePage:
        return StripePage.model_validate(await self._service.call("GET", f"/stripe/pages/{token}", identity))

    async def stripe_checkout_script(self, identity: Identity) -> bytes:
        return (await self._service.raw("GET", "/stripe/checkout.js", identity)).body

    async def relay_stripe_webhook(self, body: bytes, headers: dict[str, str]) -> Answer:
        """Stripe's webhook, byte for byte: its signature covers the exact body, and billing checks it."""
        return await self._service.forward("/webhooks/stripe", body, headers, unavailable=_WEBHOOK_UNAVAILABLE)

    async def _pdf(self, identity: Identity, path: str) -> Answer:
        return await self._service.raw("GET", path, identity)
