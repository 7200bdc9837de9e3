"""Purchase rules, pure and synchronous: purchase requests, whom they credit, and status changes."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

from common import accounts
from common.contracts import events, problems
from common.contracts.events import Event
from common.identity import Identity
from common.problems import Conflict, Forbidden, MalformedRequest, NotFound
from services.billing.payments.provider import CheckoutOrder
from services.billing.price_lists import domain as pricing
from services.billing.price_lists.domain import Quote

SOURCE = events.source("billing")  # the source of every event billing publishes
PurchaseStatus = Literal["pending", "paid", "credited", "failed"]
PurchaseOrigin = Literal["checkout", "auto_top_up"]
PAID_STATUSES: frozenset[str] = frozenset({"paid", "credited"})
# pending -> paid|failed is the provider's word; paid -> credited is the ledger's. Nothing else:
# a late, repeated or out-of-order notice finds its purchase already moved on and changes nothing.
_TRANSITIONS: frozenset[tuple[str, str]] = frozenset(
    {("pending", "paid"), ("pending", "failed"), ("paid", "credited")}
)
# Where a declined payment can still be retried (a Stripe PaymentIntent takes another card), a later
# success is money taken and must be credited, so failed -> paid is allowed there too.
_RETRY_TRANSITIONS = _TRANSITIONS | {("failed", "paid")}


class PurchaseNotFound(NotFound):
    problem = problems.PURCHASE_NOT_FOUND

    def __init__(self) -> None:
        super().__init__("There is no such purchase.")


class IdempotencyKeyReused(Conflict):
    problem = problems.IDEMPOTENCY_KEY_REUSED

    def __init__(self) -> None:
        super().__init__("This Idempotency-Key was already used for a different request.")


class AccountMismatch(MalformedRequest):
    problem = problems.ACCOUNT_MISMATCH


class AccountsMissing(MalformedRequest):
    problem = problems.ACCOUNTS_MISSING


def tenant_of(identity: Identity) -> uuid.UUID:
    if identity.tenant_id is None:
        raise Forbidden("This action is only for a tenant's users.")
    return identity.tenant_id


def checkout_description(quantity: int) -> str:
    return f"{quantity:,} SMS credits"


@dataclass(frozen=True)
class BillingDetails:
    name: str
    email: str
    company: str | None = None
    tax_id: str | None = None
    address: str | None = None


@dataclass(frozen=True)
class PurchaseOrder:
    """What a buyer asked for; its fingerprint tells a replay from a different request."""

    tenant_id: uuid.UUID
    buyer_user_id: uuid.UUID
    account_id: uuid.UUID
    account_code: str
    quantity: int
    billing: BillingDetails
    idempotency_key: str

    def fingerprint(self) -> str:
        canonical: dict[str, Any] = {
            "buyer_user_id": str(self.buyer_user_id),
            "account_id": str(self.account_id),
            "account_code": self.account_code,
            "quantity": self.quantity,
            "billing": asdict(self.billing),
        }
        text = json.dumps(canonical, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def check_account(tenant_id: uuid.UUID, account_id: uuid.UUID, account_code: str) -> None:
    """Credits are bought only for user-facing accounts, and the id must be the one the code names."""
    try:
        kind = accounts.kind_of(account_code)
    except ValueError:
        kind = None
    if kind not in accounts.USER_FACING:
        raise AccountMismatch(
            "Credits can be bought only for System Credits or a user's credits.",
            errors=[{"field": "account_code", "message": "must be 'system' or 'user:<uuid>'"}],
        )
    if accounts.account_id(tenant_id, account_code) != account_id:
        raise AccountMismatch(
            "The account id does not belong to the account code.",
            errors=[{"field": "account_id", "message": "does not match account_code"}],
        )


def may_move(current: str, target: PurchaseStatus, failure_is_final: bool = True) -> bool:
    return (current, target) in (_TRANSITIONS if failure_is_final else _RETRY_TRANSITIONS)


def checkout_order(purchase_id: uuid.UUID, order: PurchaseOrder, quote: Quote) -> CheckoutOrder:
    """What the provider is asked to take for the order."""
    return CheckoutOrder(
        purchase_id, order.tenant_id, order.quantity, quote.total_cents, quote.currency,
        checkout_description(order.quantity), order.buyer_user_id, order.billing.email, order.billing.name,
    )


def purchase_credited_by(kind: str, reference: str | None) -> uuid.UUID | None:
    """The purchase a ledger transaction credits, None for any other transaction.

    Raises ValueError for a purchase transaction whose reference names no purchase: a broken contract.
    """
    if kind != "purchase":
        return None
    if reference is None or not reference.startswith("purchase:"):
        raise ValueError(f"purchase transaction with reference {reference!r}")
    return uuid.UUID(reference.removeprefix("purchase:"))


@dataclass(frozen=True)
class Seller:
    name: str
    abn: str
    address: str


@dataclass(frozen=True)
class Purchase:
    id: uuid.UUID
    tenant_id: uuid.UUID
    buyer_user_id: uuid.UUID
    account_id: uuid.UUID
    account_code: str
    status: PurchaseStatus
    quote: Quote
    billing: BillingDetails
    checkout_session_id: str | None  # None until an off-session charge has been made
    checkout_url: str | None
    created_at: datetime
    paid_at: datetime | None = None
    invoice_number: str | None = None
    card_brand: str | None = None
    card_last4: str | None = None
    failure_reason: str | None = None
    consistency_token: int | None = None
    seller: Seller | None = None  # as it was when the invoice was issued
    buyer_name: str | None = None  # as the directory named them when the invoice was issued
    account_name: str | None = None
    origin: PurchaseOrigin = "checkout"

    @property
    def is_paid(self) -> bool:
        return self.status in PAID_STATUSES

    @property
    def credits_expire_at(self) -> datetime | None:
        """When the credits bought lapse: the validity sold with the purchase, from its payment; None if
        they never do (or it is not paid yet)."""
        return pricing.credits_expire_at(self.paid_at, self.quote.credit_validity_months) if self.paid_at else None


def purchase_event(event_type: str, purchase: Purchase, payload: BaseModel) -> Event:
    """An event about a purchase (its payment, a refund of it, its top-up), on the credited account."""
    subject = events.account_subject(purchase.tenant_id, purchase.account_id)
    return Event.new(type=event_type, source=SOURCE, subject=subject, data=payload)


# -- Pages of purchases (the cursor itself: common/keyset.py) ---------------------------------------


def check_scope(scope: str, account_ids: list[uuid.UUID]) -> None:
    """Accounts are named with scope `accounts`, and only then: one must not silently widen the other."""
    if (scope == "accounts") != bool(account_ids):
        raise AccountsMissing(
            "Name accounts with scope=accounts, or ask for scope=tenant or scope=users without accounts.",
            errors=[{"field": "account", "message": f"does not go with scope {scope}"}],
        )
