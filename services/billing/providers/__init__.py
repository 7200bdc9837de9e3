"""Payment providers: what billing needs from whoever takes the buyer's money.

Billing opens a checkout for a purchase and later learns the outcome from a signed webhook; it never
sees a card. A provider may also serve endpoints of its own (the test provider's checkout) and run
background work (its webhook re-sends); the app mounts whatever the configured provider declares.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import asyncpg
from aiohttp import web

from common.runtime import CleanupCtx
from services.billing.cards import CardSummary


@dataclass(frozen=True)
class CheckoutOrder:
    purchase_id: uuid.UUID
    tenant_id: uuid.UUID
    quantity: int
    total_cents: int
    currency: str
    description: str


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str


@dataclass(frozen=True)
class PaymentNotice:
    """A provider's word on a checkout's outcome, once its signature has been verified."""

    event_id: str
    purchase_id: uuid.UUID
    session_id: str
    succeeded: bool
    card: CardSummary | None
    failure_code: str | None = None


class PaymentProvider(Protocol):
    name: str

    async def open_checkout(self, conn: asyncpg.Connection, order: CheckoutOrder) -> CheckoutSession:
        """Open a checkout for the order; `conn` is inside the purchase's transaction."""
        ...

    def read_webhook(self, headers: Mapping[str, str], body: bytes, now: float) -> PaymentNotice | None:
        """Verify and decode a webhook (raise InvalidSignature); None for events billing ignores."""
        ...

    def routes(self) -> list[web.RouteDef]: ...

    def contexts(self) -> list[CleanupCtx]: ...
