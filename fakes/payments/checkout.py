"""The test processor's checkout: a session shown to whoever holds its link, and paid with a card.

A payment records the charge and the webhook owed for it in one transaction, then tells billing; the
card is validated and reduced to brand and last four first, and is never logged, stored or sent on.
A declined card is one attempt among several: the session stays open until a card pays.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import date

import asyncpg

from common.contracts import problems
from common.logs import get_logger
from common.problems import Conflict, NotFound
from fakes.payments import store
from fakes.payments.cards import CardDetails, charge_outcome, check_card, normalise_number
from fakes.payments.webhooks import WebhookSender, webhook_body

log = get_logger(__name__)


class CheckoutSessionNotFound(NotFound):
    problem = problems.CHECKOUT_NOT_FOUND

    def __init__(self) -> None:
        super().__init__("There is no such checkout session.")


class CheckoutCompleted(Conflict):
    problem = problems.CHECKOUT_COMPLETED

    def __init__(self) -> None:
        super().__init__("This checkout session has already been paid.")


@dataclass(frozen=True)
class PaymentResult:
    purchase_id: uuid.UUID
    tenant_id: uuid.UUID
    succeeded: bool
    failure_code: str | None
    event_id: str
    webhook_body: str


class TestCheckout:
    __test__ = False  # not a pytest test class, despite its name

    def __init__(self, webhooks: WebhookSender) -> None:
        self._webhooks = webhooks

    async def session(self, pool: asyncpg.Pool, session_id: str) -> asyncpg.Record:
        async with pool.acquire() as conn:
            session = await store.get_session(conn, session_id)
        if session is None:
            raise CheckoutSessionNotFound()
        return session

    async def pay(self, pool: asyncpg.Pool, session_id: str, card: CardDetails, today: date) -> PaymentResult:
        """Charge, then tell billing; the answer waits for billing's acknowledgement when it can."""
        result = await self.charge(pool, session_id, card, today)
        await self._webhooks.deliver(pool, result.event_id, result.webhook_body)
        return result

    async def charge(self, pool: asyncpg.Pool, session_id: str, card: CardDetails, today: date) -> PaymentResult:
        """Record the charge and the webhook owed for it in one transaction: once this commits, the
        re-sender delivers the webhook even if this process dies before sending it."""
        async with pool.acquire() as conn, conn.transaction():
            session = await store.lock_session(conn, session_id)
            if session is None:
                raise CheckoutSessionNotFound()
            if session["status"] != "open":
                raise CheckoutCompleted()
            summary = check_card(card.number, card.exp_month, card.exp_year, card.cvc, today)
            outcome = charge_outcome(normalise_number(card.number))
            charge_id = f"ch_{secrets.token_hex(12)}"
            # A declined card leaves the session open: the buyer tries another card on the same checkout.
            await store.record_charge(conn, session_id, charge_id, summary, outcome.failure_code,
                                      decline_is_final=False)
            # A card that paid is kept as a token, so that auto top-up can charge it later.
            token = f"tok_{secrets.token_hex(12)}" if outcome.succeeded else None
            if token:
                await store.save_token(conn, token, summary, outcome)
            await store.mark_charge_details(conn, charge_id, outcome.refund_fails, token)
            event_id = f"evt_{secrets.token_hex(12)}"
            body = webhook_body(event_id, session, summary, outcome.failure_code, token)
            await store.owe_webhook(conn, event_id, session_id, body, self._webhooks.retry_seconds)
        log.info("test_charge_recorded", session_id=session_id, succeeded=outcome.succeeded, brand=summary.brand)
        return PaymentResult(
            purchase_id=session["purchase_id"],
            tenant_id=session["tenant_id"],
            succeeded=outcome.succeeded,
            failure_code=outcome.failure_code,
            event_id=event_id,
            webhook_body=body,
        )
