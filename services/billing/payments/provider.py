"""Payment providers: what billing needs from whoever takes the buyer's money.

Billing opens a checkout for a purchase and later learns the outcome from a signed webhook; it never
sees a card. It can also charge a card the buyer saved (auto top-up) and give money back (refunds).
A provider may serve endpoints of its own (a hosted payment page, which `app.py` mounts), run
background work (webhook re-sends) and keep tables of its own (migrations `app.py` applies).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import asyncpg

from common.problems import DependencyUnavailable
from common.runtime import CleanupCtx


@dataclass(frozen=True)
class CardSummary:
    """All that is kept of a card: its brand and last four digits."""

    brand: str
    last4: str


@dataclass(frozen=True)
class CheckoutOrder:
    purchase_id: uuid.UUID
    tenant_id: uuid.UUID
    quantity: int
    total_cents: int
    currency: str
    description: str
    buyer_user_id: uuid.UUID | None = None
    billing_email: str | None = None
    billing_name: str | None = None


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str


@dataclass(frozen=True)
class SavedCard:
    """A card the provider keeps for its owner: a reusable reference, never the number."""

    token: str
    brand: str
    last4: str
    customer_ref: str | None = None


@dataclass(frozen=True)
class PaymentNotice:
    """A provider's word on a payment's outcome, once its signature (or its API answer) was checked.

    `purchase_id` is None when the provider names no purchase of ours (a stray PaymentIntent);
    `session_id` is None when a declined charge did not say which payment it was."""

    event_id: str
    purchase_id: uuid.UUID | None
    session_id: str | None
    succeeded: bool
    card: CardSummary | None
    failure_code: str | None = None
    saved_card: SavedCard | None = None  # the buyer asked to keep the card for later charges


@dataclass(frozen=True)
class RefundOrder:
    refund_id: uuid.UUID
    purchase_id: uuid.UUID
    payment_ref: str  # the provider's id of the original payment (checkout session, PaymentIntent)
    amount_cents: int
    currency: str


class RefundDeclined(Exception):
    """The provider refused the refund for good: asking again would be refused again."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ProviderUnavailable(DependencyUnavailable):
    """The provider could not be reached or failed on its side: try again later."""


class PaymentProvider(Protocol):
    name: str
    # Whether a declined payment is the end of its checkout (the test provider) or can still be paid
    # with another card (a Stripe PaymentIntent).
    failure_is_final: bool

    async def open_checkout(self, conn: asyncpg.Connection, order: CheckoutOrder) -> CheckoutSession:
        """Open a checkout for the order; `conn` is inside the purchase's transaction."""
        ...

    async def read_webhook(self, headers: Mapping[str, str], body: bytes, now: float) -> PaymentNotice | None:
        """Verify and decode a webhook (raise InvalidSignature); None for events billing ignores."""
        ...

    async def charge_saved_card(
        self, pool: asyncpg.Pool, order: CheckoutOrder, card: SavedCard
    ) -> PaymentNotice | None:
        """Charge a saved card with the buyer away (off session). Idempotent per purchase: a repeat
        answers the first outcome. None when the outcome will come by webhook."""
        ...

    async def refund(self, pool: asyncpg.Pool, order: RefundOrder) -> str:
        """Give money back; answers the provider's refund id. Idempotent per refund. Raises
        RefundDeclined when refused, ProviderUnavailable when it may work later."""
        ...

    def contexts(self) -> list[CleanupCtx]:
        """What the provider runs beside the server (its API client, its background work)."""
        ...
