"""The `test` payment provider: a stand-in processor that keeps its own records, "charges" the
well-known test cards and notifies billing by signed webhook, re-sending until acknowledged.

It runs inside the billing process and database only for convenience; it talks to billing the way a
real processor would (HTTP webhooks), so that billing's webhook path is the one production uses.
"""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import date

import aiohttp
import asyncpg
from aiohttp import web
from pydantic import BaseModel, Field, ValidationError

from common.logs import get_logger
from common.problems import Conflict, MalformedRequest, NotFound
from common.runtime import DB, CleanupCtx, background_ctx
from services.billing import signatures
from services.billing.cards import CardDetails, CardSummary, check_card, normalise_number
from services.billing.providers import (
    CheckoutOrder,
    CheckoutSession,
    PaymentNotice,
    RefundOrder,
    SavedCard,
    teststore,
    testvault,
)
from services.billing.providers.checkout import checkout_routes
from services.billing.providers.testcards import charge_outcome
from services.billing.settings import BillingSettings

log = get_logger(__name__)

SIGNATURE_HEADER = "Test-Signature"
_REDELIVERY_BATCH = 50


class CheckoutSessionNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("There is no such checkout session.")


class CheckoutCompleted(Conflict):
    def __init__(self) -> None:
        super().__init__("This checkout session has already been paid or declined.", slug="checkout-completed")


@dataclass(frozen=True)
class PaymentResult:
    purchase_id: uuid.UUID
    tenant_id: uuid.UUID
    succeeded: bool
    failure_code: str | None
    event_id: str
    webhook_body: str


class _WebhookData(BaseModel):
    session_id: str
    purchase_id: uuid.UUID
    card_brand: str = Field(max_length=20)
    card_last4: str = Field(pattern=r"^\d{4}$")
    failure_code: str | None = Field(default=None, max_length=100)
    card_token: str | None = Field(default=None, max_length=100)


class _WebhookEvent(BaseModel):
    id: str = Field(min_length=1, max_length=200)
    type: str
    created: int
    data: _WebhookData


class TestPaymentProvider:
    __test__ = False  # not a pytest test class, despite its name
    name = "test"
    failure_is_final = True  # a declined session is completed: the buyer starts a new purchase

    def __init__(self, settings: BillingSettings) -> None:
        assert settings.test_provider_webhook_secret, "settings require it with the test provider"
        self._secret = settings.test_provider_webhook_secret
        self._webhook_url = settings.billing_webhook_url
        self._checkout_base = settings.public_base_url.rstrip("/") + "/checkout/"
        self._retry_seconds = settings.test_provider_retry_seconds
        self._http: aiohttp.ClientSession | None = None

    async def open_checkout(self, conn: asyncpg.Connection, order: CheckoutOrder) -> CheckoutSession:
        session_id = testvault.new_session_id()
        await teststore.insert_session(conn, session_id, order)
        return CheckoutSession(id=session_id, url=self._checkout_base + session_id)

    async def charge_saved_card(
        self, pool: asyncpg.Pool, order: CheckoutOrder, card: SavedCard
    ) -> PaymentNotice | None:
        async with pool.acquire() as conn, conn.transaction():
            return await testvault.charge_saved_card(conn, order, card, self._retry_seconds)

    async def refund(self, pool: asyncpg.Pool, order: RefundOrder) -> str:
        async with pool.acquire() as conn, conn.transaction():
            return await testvault.refund(conn, order)

    async def read_webhook(self, headers: Mapping[str, str], body: bytes, now: float) -> PaymentNotice | None:
        signatures.verify(self._secret, headers.get(SIGNATURE_HEADER), body, now)
        try:
            event = _WebhookEvent.model_validate_json(body)
        except ValidationError as exc:
            raise MalformedRequest("The webhook body is not a payment event.") from exc
        if event.type not in ("payment.succeeded", "payment.failed"):
            return None
        data = event.data
        return PaymentNotice(
            event_id=event.id,
            purchase_id=data.purchase_id,
            session_id=data.session_id,
            succeeded=event.type == "payment.succeeded",
            card=CardSummary(data.card_brand, data.card_last4),
            failure_code=data.failure_code,
            saved_card=SavedCard(data.card_token, data.card_brand, data.card_last4) if data.card_token else None,
        )

    def routes(self) -> list[web.RouteDef]:
        return checkout_routes(self)

    def contexts(self) -> list[CleanupCtx]:
        return [self._http_ctx, background_ctx("test-provider-webhooks", self._redeliver_forever)]

    async def session(self, pool: asyncpg.Pool, session_id: str) -> asyncpg.Record:
        async with pool.acquire() as conn:
            session = await teststore.get_session(conn, session_id)
        if session is None:
            raise CheckoutSessionNotFound()
        return session

    async def pay(self, pool: asyncpg.Pool, session_id: str, card: CardDetails, today: date) -> PaymentResult:
        """Charge, then tell billing; the answer waits for billing's acknowledgement when it can."""
        result = await self.charge(pool, session_id, card, today)
        await self.deliver(pool, result.event_id, result.webhook_body)
        return result

    async def charge(self, pool: asyncpg.Pool, session_id: str, card: CardDetails, today: date) -> PaymentResult:
        """Record the charge and the webhook owed for it in one transaction: once this commits, the
        re-sender delivers the webhook even if this process dies before sending it."""
        async with pool.acquire() as conn, conn.transaction():
            session = await teststore.lock_session(conn, session_id)
            if session is None:
                raise CheckoutSessionNotFound()
            if session["status"] != "open":
                raise CheckoutCompleted()
            summary = check_card(card.number, card.exp_month, card.exp_year, card.cvc, today)
            outcome = charge_outcome(normalise_number(card.number))
            charge_id = f"ch_{secrets.token_hex(12)}"
            await teststore.record_charge(conn, session_id, charge_id, summary, outcome.failure_code)
            # A card that paid is kept as a token, so that auto top-up can charge it later.
            token = f"tok_{secrets.token_hex(12)}" if outcome.succeeded else None
            if token:
                await teststore.save_token(conn, token, summary, outcome)
            await teststore.mark_charge_details(conn, charge_id, outcome.refund_fails, token)
            event_id = f"evt_{secrets.token_hex(12)}"
            body = testvault.webhook_body(event_id, session, summary, outcome.failure_code, token)
            await teststore.owe_webhook(conn, event_id, session_id, body, self._retry_seconds)
        log.info("test_charge_recorded", session_id=session_id, succeeded=outcome.succeeded, brand=summary.brand)
        return PaymentResult(
            purchase_id=session["purchase_id"],
            tenant_id=session["tenant_id"],
            succeeded=outcome.succeeded,
            failure_code=outcome.failure_code,
            event_id=event_id,
            webhook_body=body,
        )

    async def deliver(self, pool: asyncpg.Pool, event_id: str, body: str) -> bool:
        """POST one webhook, signed now; True once billing acknowledged it with a 2xx."""
        assert self._http is not None, "the provider's HTTP context is not running"
        payload = body.encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signatures.sign(self._secret, payload, int(time.time())),
        }
        try:
            async with self._http.post(self._webhook_url, data=payload, headers=headers) as response:
                acknowledged = 200 <= response.status < 300
                if not acknowledged:
                    log.warning("test_webhook_refused", event_id=event_id, status=response.status)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("test_webhook_undelivered", event_id=event_id, error=type(exc).__name__)
            return False
        if acknowledged:
            async with pool.acquire() as conn:
                await teststore.mark_delivered(conn, event_id)
        return acknowledged

    async def redeliver_due(self, pool: asyncpg.Pool) -> int:
        async with pool.acquire() as conn:
            due = await teststore.claim_due_webhooks(conn, _REDELIVERY_BATCH, self._retry_seconds)
        results = await asyncio.gather(*(self.deliver(pool, row["event_id"], row["body"]) for row in due))
        return sum(results)

    async def _redeliver_forever(self, app: web.Application) -> None:
        while True:
            await asyncio.sleep(self._retry_seconds)
            try:
                await self.redeliver_due(app[DB])
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("test_webhook_redelivery_failed", error=str(exc))
            except Exception:
                # Anything else is a bug, but the loop must outlive it: a dead re-sender loses payments.
                log.exception("test_webhook_redelivery_crashed")

    async def _http_ctx(self, _: web.Application) -> AsyncIterator[None]:
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        try:
            yield
        finally:
            await self._http.close()
            self._http = None

