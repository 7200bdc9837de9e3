"""In-memory stand-ins for the services behind the gateway, and callers to drive the use cases with: no
socket, no database. Each fake records what it was asked, so a test can say what was (not) called."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import asyncpg

from common.accounts import SYSTEM, account_id, kind_of
from common.contracts.billing import PurchaseOrder, Quote, RefundView
from common.contracts.ledger import Balance, HoldRequest, HoldView
from common.contracts.messaging import Message, MessageOrder, RecipientView
from common.identity import Identity
from gateway.clients.base import UpstreamProblem
from gateway.clients.billing import BillingClient, Purchase
from gateway.clients.ledger import LedgerClient
from gateway.clients.messaging import MessagingClient
from gateway.directory.domain import Person, Tenant
from gateway.web.auth import Caller

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


class NoDatabase:
    """A pool that must not be used: these flows decide without the directory (shared mode)."""

    def acquire(self) -> Any:
        raise AssertionError("the directory was read")


NO_DATABASE = cast(asyncpg.Pool, NoDatabase())


def shared_tenant() -> Tenant:
    return Tenant(uuid.uuid4(), "Globex", "Globex Corporation Pty Ltd", "33 102 417 032", "shared",
                  "Australia/Melbourne")


def caller(tenant: Tenant, role: str = "user", *, send_sms: bool = True, manage_credits: bool = False) -> Caller:
    person = Person(uuid.uuid4(), tenant.id, f"{role}@globex.test", role.title(), role,  # type: ignore[arg-type]
                    None, True, send_sms, manage_credits)
    return Caller(person, tenant)


def system_account(tenant: Tenant) -> uuid.UUID:
    return account_id(tenant.id, SYSTEM)


class FakeLedger(LedgerClient):
    """A ledger whose holds come back with `hold_status` (a retried request finds its hold settled)."""

    def __init__(self, *, hold_status: str = "open", available: int = 1000) -> None:
        self.hold_status = hold_status
        self.available = available
        self.holds: dict[uuid.UUID, HoldView] = {}
        self.hold_keys: list[str] = []
        self.hold_notes: list[str | None] = []
        self.voided: list[tuple[uuid.UUID, Identity]] = []

    async def balances(self, identity: Identity, codes: Sequence[str], as_of: datetime | None = None) -> list[Balance]:
        return [Balance(id=account_id(identity.require_tenant(), code), code=code, kind=kind_of(code),
                        balance=self.available, held=0, available=self.available) for code in codes]

    async def place_hold(self, identity: Identity, hold: HoldRequest, idempotency_key: str) -> HoldView:
        self.hold_keys.append(idempotency_key)
        self.hold_notes.append(hold.note)
        placed = HoldView(id=uuid.uuid4(), account_id=hold.account_id, quantity=hold.quantity, captured=0,
                          status=self.hold_status, reference=hold.reference,  # type: ignore[arg-type]
                          expires_at=NOW + timedelta(seconds=hold.expires_in),
                          account={"balance": self.available, "held": hold.quantity,
                                   "available": self.available - hold.quantity})
        self.holds[placed.id] = placed
        return placed

    async def void_hold(self, identity: Identity, hold_id: uuid.UUID) -> HoldView:
        self.voided.append((hold_id, identity))
        self.holds[hold_id] = self.holds[hold_id].model_copy(update={"status": "voided"})
        return self.holds[hold_id]


class FakeMessaging(MessagingClient):
    """Messaging that takes every message, or fails the hand-over with `fail_with`; `known` are the
    messages it already has (a retry reads them)."""

    def __init__(self, *, fail_with: Exception | None = None, rates: dict[str, int] | None = None) -> None:
        self.fail_with = fail_with
        self.handed_over: list[MessageOrder] = []
        self.known: dict[uuid.UUID, Message] = {}
        self.rates = rates or {"AU": 1, "NZ": 2, "*": 3}

    async def destination_rates(self, identity: Identity) -> dict[str, int]:
        return dict(self.rates)

    async def hand_over(self, identity: Identity, order: MessageOrder) -> Message:
        if self.fail_with is not None:
            raise self.fail_with
        self.handed_over.append(order)
        self.known[order.id] = message = Message(
            id=order.id, status="queued", encoding="gsm7", segments=order.segments, credits=order.credits,
            captured_credits=None, created_at=NOW, settled_at=None, sender_user_id=identity.user_id or uuid.uuid4(),
            account_code=order.account_code,
            recipients=[RecipientView(to=to, status="queued", error_code=None) for to in order.recipients],
        )
        return message

    async def message(self, identity: Identity, message_id: uuid.UUID | str) -> Message:
        found = self.known.get(uuid.UUID(str(message_id)))
        if found is None:
            raise UpstreamProblem(404, {"type": "/problems/message-not-found", "title": "No such message",
                                        "detail": "No such message."})
        return found


QUOTE = Quote(quantity=500, unit_price="0.0800", subtotal="40.00", tax_name="GST", tax_rate="0.10", tax="4.00",
              total="44.00", currency="AUD")


def refund_view(purchase_id: uuid.UUID, refund_id: uuid.UUID, status: str, quantity: int = 100,
                failure_reason: str | None = None) -> RefundView:
    return RefundView(
        id=refund_id, purchase_id=purchase_id, status=status, quantity=quantity,  # type: ignore[arg-type]
        subtotal="8.00", tax="0.80", total="8.80", currency="AUD", requested_by=uuid.uuid4(),
        failure_reason=failure_reason, credits_restored=False, adjustment_note_number=None,
        adjustment_note_url=None, created_at=NOW, settled_at=None,
    )


class FakeBilling(BillingClient):
    """Billing with one purchase; a refund passes through `refund_statuses` one poll at a time, staying
    at the last."""

    def __init__(self, purchase: Purchase | None = None, refund_statuses: Sequence[str] = ("refunded",),
                 failure_reason: str | None = None) -> None:
        self.the_purchase = purchase
        self.refund_statuses = list(refund_statuses)
        self.failure_reason = failure_reason
        self.orders: list[tuple[PurchaseOrder, str]] = []
        self.refunds_asked: list[tuple[uuid.UUID, int, str | None]] = []
        self.polls = 0

    async def create_purchase(self, identity: Identity, order: PurchaseOrder, idempotency_key: str) -> Purchase:
        self.orders.append((order, idempotency_key))
        return Purchase(id=uuid.uuid4(), status="pending", account_id=order.account_id,
                        account_code=order.account_code, buyer_user_id=identity.user_id or uuid.uuid4(),
                        quantity=order.quantity, quote=QUOTE, checkout_url="/checkout/cs_1", invoice_number=None,
                        invoice_url=None, failure_reason=None, consistency_token=None, created_at=NOW, paid_at=None,
                        buyer_name=None, account_name=None, origin="checkout")

    async def purchase(self, identity: Identity, purchase_id: uuid.UUID | str) -> Purchase:
        if self.the_purchase is None or str(self.the_purchase.id) != str(purchase_id):
            raise UpstreamProblem(404, {"type": "/problems/purchase-not-found", "title": "No such purchase"})
        return self.the_purchase

    async def request_refund(
        self, identity: Identity, purchase_id: uuid.UUID, quantity: int, idempotency_key: str | None
    ) -> RefundView:
        self.refunds_asked.append((purchase_id, quantity, idempotency_key))
        return refund_view(purchase_id, uuid.uuid5(purchase_id, "refund"), "requested", quantity)

    async def refund(self, identity: Identity, purchase_id: uuid.UUID, refund_id: uuid.UUID) -> RefundView:
        status = self.refund_statuses[min(self.polls, len(self.refund_statuses) - 1)]
        self.polls += 1
        return refund_view(purchase_id, refund_id, status, failure_reason=self.failure_reason)


def paid_purchase(tenant: Tenant, buyer: uuid.UUID | None = None) -> Purchase:
    """A credited purchase of System Credits, bought by `buyer` (by default someone no test signs in as)."""
    return Purchase(id=uuid.uuid4(), status="credited", account_id=system_account(tenant), account_code=SYSTEM,
                    buyer_user_id=buyer or uuid.uuid4(), quantity=500, quote=QUOTE, checkout_url=None,
                    invoice_number="INV-1", invoice_url=None, failure_reason=None, consistency_token=None,
                    created_at=NOW, paid_at=NOW, buyer_name=None, account_name=None, origin="checkout")
