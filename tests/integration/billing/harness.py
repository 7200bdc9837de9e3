"""A billing service under test: the real app on a real port, against real Postgres and RabbitMQ,
with helpers that speak to it the way the gateway and the payment provider do."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import aio_pika
import asyncpg
from aiohttp import web
from aiohttp.test_utils import TestClient

from common import accounts
from common.contracts.events import Event
from common.identity import Identity, issue_internal_token
from common.runtime import DB
from services.billing.invoices.domain import prefix_from_id
from services.billing.payments import signatures
from services.billing.settings import BillingSettings
from tests.harness import INTERNAL_SECRET, internal_token
from tests.support import eventually

WEBHOOK_SECRET = "whsec_test_billing_0123456789"
GOOD_CARD = "4242424242424242"


def card(number: str = GOOD_CARD, cvc: str = "123") -> dict[str, Any]:
    return {"card_number": number, "exp_month": 12, "exp_year": time.gmtime().tm_year + 2, "cvc": cvc,
            "name": "Jo Citizen"}


def billing_details(**overrides: str) -> dict[str, str]:
    return {"name": "Jo Citizen", "email": "jo@example.com.au", "company": "Citizen Realty",
            "tax_id": "53 004 085 616", "address": "2 George St, Sydney NSW 2000", **overrides}


def invoice_number(buyer: Buyer, n: int) -> str:
    """A test tenant's nth invoice number: billing never heard its name, so its prefix is made from its id."""
    return f"INV-{prefix_from_id(buyer.tenant_id)}-{n:06d}"


def note_number(buyer: Buyer, n: int) -> str:
    return f"ADJ-{prefix_from_id(buyer.tenant_id)}-{n:06d}"


@dataclass
class Buyer:
    tenant_id: uuid.UUID = field(default_factory=uuid.uuid4)
    user_id: uuid.UUID = field(default_factory=uuid.uuid4)
    role: str = "user"

    def token(self) -> str:
        return internal_token("billing", self.role, self.tenant_id, user_id=self.user_id)

    def purchase_body(self, quantity: int = 1000, **billing: str) -> dict[str, Any]:
        return {
            "account_id": str(accounts.account_id(self.tenant_id, "system")),
            "account_code": "system",
            "quantity": quantity,
            "billing": billing_details(**billing),
        }


@dataclass
class Billing:
    client: TestClient[web.Request, web.Application]
    app: web.Application
    settings: BillingSettings
    buyer: Buyer = field(default_factory=Buyer)

    @property
    def pool(self) -> asyncpg.Pool:
        return self.app[DB]

    def headers(self, buyer: Buyer | None = None, key: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {(buyer or self.buyer).token()}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        return headers

    async def get(self, path: str, buyer: Buyer | None = None) -> tuple[int, Any]:
        response = await self.client.get(path, headers=self.headers(buyer))
        return response.status, await response.json()

    async def purchase(self, quantity: int = 1000, buyer: Buyer | None = None) -> dict[str, Any]:
        buyer = buyer or self.buyer
        response = await self.client.post(
            "/purchases", json=buyer.purchase_body(quantity), headers=self.headers(buyer, uuid.uuid4().hex)
        )
        assert response.status == 201, await response.text()
        body: dict[str, Any] = await response.json()
        return body

    async def pay(self, purchase: dict[str, Any], number: str = GOOD_CARD) -> tuple[int, Any]:
        session_id = session_of(purchase)
        service = Identity(role="service")
        token = issue_internal_token(service, INTERNAL_SECRET, "billing")
        response = await self.client.post(
            f"/checkout-sessions/{session_id}/pay", json=card(number), headers={"Authorization": f"Bearer {token}"}
        )
        return response.status, await response.json()

    async def post_webhook(
        self, body: bytes, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None
    ) -> tuple[int, Any]:
        signature = signatures.sign(secret, body, timestamp if timestamp is not None else int(time.time()))
        response = await self.client.post(
            "/webhooks/test", data=body, headers={"Test-Signature": signature, "Content-Type": "application/json"}
        )
        return response.status, await response.json()

    async def status_of(self, purchase_id: str) -> str:
        status, body = await self.get(f"/purchases/{purchase_id}")
        assert status == 200, body
        return str(body["status"])

    async def wait_for_status(self, purchase_id: str, wanted: str) -> None:
        async def reached() -> bool:
            return await self.status_of(purchase_id) == wanted

        await eventually(reached)


def session_of(purchase: dict[str, Any]) -> str:
    return str(purchase["checkout_url"]).rsplit("/", 1)[-1]


def webhook_body(
    purchase: dict[str, Any], event_type: str = "payment.succeeded", event_id: str | None = None, **extra: str
) -> bytes:
    data = {"session_id": session_of(purchase), "purchase_id": purchase["id"], "card_brand": "visa",
            "card_last4": "4242", **extra}
    event = {"id": event_id or f"evt_{uuid.uuid4().hex}", "type": event_type, "created": int(time.time()),
             "data": data}
    return json.dumps(event).encode()


class EventTap:
    """A private queue bound to the exchange: what billing actually published, as a consumer sees it."""

    def __init__(self, queue: aio_pika.abc.AbstractQueue) -> None:
        self._queue = queue
        self.received: list[Event] = []

    async def drain(self, seconds: float) -> list[Event]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            message = await self._queue.get(no_ack=True, fail=False)
            if message is None:
                await asyncio.sleep(0.05)
                continue
            self.received.append(Event.from_json(message.body))
        return self.received

    async def wait_for(self, event_type: str, purchase_id: str, timeout: float = 10.0) -> Event:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.received:
                if event.type == event_type and event.data["purchase_id"] == purchase_id:
                    return event
            await self.drain(0.1)
        raise AssertionError(f"no {event_type} for {purchase_id} was published")

    def of(self, event_type: str, purchase_id: str) -> list[Event]:
        return [e for e in self.received if e.type == event_type and e.data["purchase_id"] == purchase_id]
