"""The test processor's webhooks: the body it signs and sends to billing's `/webhooks/test` over HTTP
(a loop-back into the same process, the way a real processor calls in), the re-sender that delivers
what billing has not acknowledged yet, and the reading of such a body into a payment notice."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import asyncpg
from aiohttp import web
from pydantic import BaseModel, Field, ValidationError

from common.logs import get_logger
from common.problems import MalformedRequest
from common.runtime import DB, CleanupCtx, periodic
from fakes.payments import store
from services.billing.payments import signatures
from services.billing.payments.provider import CardSummary, PaymentNotice, SavedCard

log = get_logger(__name__)

SIGNATURE_HEADER = "Test-Signature"
_REDELIVERY_BATCH = 50


def webhook_body(
    event_id: str, session: asyncpg.Record, card: CardSummary, failure_code: str | None, token: str | None
) -> str:
    data: dict[str, Any] = {
        "session_id": session["id"],
        "purchase_id": str(session["purchase_id"]),
        "card_brand": card.brand,
        "card_last4": card.last4,
    }
    if failure_code:
        data["failure_code"] = failure_code
    if token:
        data["card_token"] = token
    event_type = "payment.failed" if failure_code else "payment.succeeded"
    return json.dumps({"id": event_id, "type": event_type, "created": int(time.time()), "data": data})


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


def notice_of(body: bytes) -> PaymentNotice | None:
    """The payment notice a (verified) webhook body carries; None for events billing ignores."""
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


class WebhookSender:
    """Posts owed webhooks to billing, signed at each attempt, until one is acknowledged with a 2xx."""

    def __init__(self, secret: str, webhook_url: str, retry_seconds: float) -> None:
        self._secret = secret
        self._webhook_url = webhook_url
        self.retry_seconds = retry_seconds
        self._http: aiohttp.ClientSession | None = None

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
                await store.mark_delivered(conn, event_id)
        return acknowledged

    async def redeliver_due(self, pool: asyncpg.Pool) -> int:
        async with pool.acquire() as conn:
            due = await store.claim_due_webhooks(conn, _REDELIVERY_BATCH, self.retry_seconds)
        results = await asyncio.gather(*(self.deliver(pool, row["event_id"], row["body"]) for row in due))
        return sum(results)

    def contexts(self) -> list[CleanupCtx]:
        """The HTTP session, and the re-sender: a dead re-sender would lose payments, so it runs as a
        periodic job that outlives any failure, every TEST_PROVIDER_RETRY_SECONDS."""
        return [self._http_ctx, periodic("test-provider-webhooks", self.retry_seconds, self._redeliver,
                                         first_wait=True)]

    async def _redeliver(self, app: web.Application) -> None:
        await self.redeliver_due(app[DB])

    async def _http_ctx(self, _: web.Application) -> AsyncIterator[None]:
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        try:
            yield
        finally:
            await self._http.close()
            self._http = None
