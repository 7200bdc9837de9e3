"""The payment pages billing serves through the gateway: the hosted checkout (its session id is the
capability, as on a real hosted checkout page: unguessable and known only to the buyer, so no
signed-in user is needed), the confirmation after it, and Stripe's payment page and webhooks."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

from common.contracts.billing import CheckoutSession, StripePage
from common.problems import NotFound
from gateway.clients.base import Answer
from gateway.clients.billing import BillingClient
from gateway.clients.ledger import LedgerClient
from gateway.schemas.credits import CardPayment
from gateway.usecases.accounts import account_by_id, tenant_by_id
from gateway.usecases.identity import CHECKOUT, purchase_identity


def _require_token(token: str) -> None:
    """A session id or page token is letters, digits and underscores: anything else names nothing."""
    if not token.replace("_", "").isalnum() or len(token) > 100:
        raise NotFound("No such checkout session.")


async def session(billing: BillingClient, session_id: str) -> CheckoutSession:
    _require_token(session_id)
    return await billing.checkout_session(CHECKOUT, session_id)


async def session_of_purchase(billing: BillingClient, session_id: str, purchase_id: str) -> CheckoutSession:
    """The session a confirmation link names, if it is this purchase's."""
    if not session_id:
        raise NotFound("No such purchase.")
    found = await session(billing, session_id)
    if found.purchase_id != purchase_id:
        raise NotFound("No such purchase.")
    return found


async def pay(billing: BillingClient, checkout: CheckoutSession, card: CardPayment) -> None:
    await billing.pay_checkout(CHECKOUT, checkout.session_id, card)


async def purchase_of(billing: BillingClient, checkout: CheckoutSession) -> dict[str, Any]:
    """The session's purchase, as billing answers it."""
    return await billing.purchase_as_answered(purchase_identity(uuid.UUID(checkout.tenant_id)), checkout.purchase_id)


@dataclass(frozen=True)
class Confirmation:
    purchase: dict[str, Any]
    balance: int | None  # the account's available credits, once the purchase is credited
    credit_mode: str


async def confirmation(
    pool: asyncpg.Pool, ledger: LedgerClient, billing: BillingClient, checkout: CheckoutSession
) -> Confirmation:
    tenant_id = uuid.UUID(checkout.tenant_id)
    identity = purchase_identity(tenant_id)
    purchase = await billing.purchase_as_answered(identity, checkout.purchase_id)
    balance = None
    if purchase["status"] == "credited":
        ref = await account_by_id(pool, tenant_id, uuid.UUID(purchase["account_id"]))
        [account] = await ledger.balances(identity, [ref.code])
        balance = account.available
    tenant = await tenant_by_id(pool, tenant_id)
    return Confirmation(purchase, balance, tenant.credit_mode if tenant else "shared")


async def invoice_pdf(billing: BillingClient, checkout: CheckoutSession) -> bytes:
    return await billing.invoice_pdf(purchase_identity(uuid.UUID(checkout.tenant_id)), checkout.purchase_id)


async def stripe_page(billing: BillingClient, token: str) -> StripePage:
    _require_token(token)
    return await billing.stripe_page(CHECKOUT, token)


async def stripe_script(billing: BillingClient) -> bytes:
    return await billing.stripe_checkout_script(CHECKOUT)


async def relay_stripe_webhook(billing: BillingClient, body: bytes, headers: dict[str, str]) -> Answer:
    """Public: Stripe's signature, checked by billing over the exact body, is the authentication."""
    return await billing.relay_stripe_webhook(body, headers)
