"""The `test` payment provider as billing sees it: the PaymentProvider protocol over the test
processor. A checkout opens a session on the processor's side; its outcome comes back as a signed
webhook to billing's `/webhooks/test`, which this provider verifies and reads.
"""

from __future__ import annotations

from collections.abc import Mapping

import asyncpg

from common.runtime import CleanupCtx
from fakes.payments import store, vault
from fakes.payments.checkout import TestCheckout
from fakes.payments.webhooks import SIGNATURE_HEADER, WebhookSender, notice_of
from services.billing.payments import signatures
from services.billing.payments.provider import CheckoutOrder, CheckoutSession, PaymentNotice, RefundOrder, SavedCard
from services.billing.settings import BillingSettings


class TestPaymentProvider:
    __test__ = False  # not a pytest test class, despite its name
    name = "test"
    failure_is_final = False  # a declined card leaves the checkout open: the buyer may try another card

    def __init__(self, settings: BillingSettings) -> None:
        assert settings.test_provider_webhook_secret, "settings require it with the test provider"
        self._secret = settings.test_provider_webhook_secret
        self._checkout_base = settings.public_base_url.rstrip("/") + "/checkout/"
        self._retry_seconds = settings.test_provider_retry_seconds
        self.webhooks = WebhookSender(self._secret, settings.billing_webhook_url, self._retry_seconds)
        self.checkout = TestCheckout(self.webhooks)  # its endpoints are mounted by billing's app.py

    async def open_checkout(self, conn: asyncpg.Connection, order: CheckoutOrder) -> CheckoutSession:
        session_id = vault.new_session_id()
        await store.insert_session(conn, session_id, order)
        return CheckoutSession(id=session_id, url=self._checkout_base + session_id)

    async def charge_saved_card(
        self, pool: asyncpg.Pool, order: CheckoutOrder, card: SavedCard
    ) -> PaymentNotice | None:
        async with pool.acquire() as conn, conn.transaction():
            return await vault.charge_saved_card(conn, order, card, self._retry_seconds)

    async def refund(self, pool: asyncpg.Pool, order: RefundOrder) -> str:
        async with pool.acquire() as conn, conn.transaction():
            return await vault.refund(conn, order)

    async def read_webhook(self, headers: Mapping[str, str], body: bytes, now: float) -> PaymentNotice | None:
        signatures.verify(self._secret, headers.get(SIGNATURE_HEADER), body, now)
        return notice_of(body)

    def contexts(self) -> list[CleanupCtx]:
        return self.webhooks.contexts()
