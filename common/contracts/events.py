"""The CloudEvents 1.0 envelope and the catalogue of events: the contract between services.

Routing key = the event's `type`. Payload models are the only definition of each event's `data`;
producers build them, consumers validate against them. Extend the catalogue, never break it: add
optional fields, never rename or remove one.
"""

from __future__ import annotations

import builtins
import uuid
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from common.logs import current_request_id

PURCHASE_PAID = "billing.purchase.paid"
PURCHASE_FAILED = "billing.purchase.failed"
TRANSACTION_POSTED = "ledger.transaction.posted"
BALANCE_LOW = "ledger.balance.low"
HOLD_EXPIRED = "ledger.hold.expired"
CREDIT_MODE_CHANGED = "gateway.tenant.credit_mode_changed"
TENANT_CHANGED = "gateway.directory.tenant_changed"
USER_CHANGED = "gateway.directory.user_changed"
REFUND_REQUESTED = "billing.refund.requested"
REFUND_COMPLETED = "billing.refund.completed"
REFUND_FAILED = "billing.refund.failed"
REFUND_DEBITED = "ledger.refund.debited"
REFUND_REJECTED = "ledger.refund.rejected"
REFUND_RESTORED = "ledger.refund.restored"
TOP_UP_FAILED = "billing.topup.failed"
MESSAGE_QUEUED = "messaging.message.queued"
MESSAGE_SETTLED = "messaging.message.settled"

PayloadT = TypeVar("PayloadT", bound=BaseModel)


class Event(BaseModel):
    """A CloudEvents 1.0 structured-mode JSON envelope. `requestid` is an extension attribute that
    carries the originating request's id across services."""

    model_config = ConfigDict(extra="allow", frozen=True)

    specversion: Literal["1.0"] = "1.0"
    id: uuid.UUID
    source: str
    type: str
    time: datetime
    subject: str | None = None
    datacontenttype: Literal["application/json"] = "application/json"
    requestid: str | None = None
    data: dict[str, Any]

    @classmethod
    def new(cls, *, type: str, source: str, subject: str | None, data: BaseModel) -> Event:
        return cls(
            id=uuid.uuid4(),
            source=source,
            type=type,
            time=datetime.now(UTC),
            subject=subject,
            requestid=current_request_id(),
            data=data.model_dump(mode="json"),
        )

    def payload(self, model: builtins.type[PayloadT]) -> PayloadT:
        return model.model_validate(self.data)

    def to_json(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()

    @classmethod
    def from_json(cls, body: bytes) -> Event:
        return cls.model_validate_json(body)


class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True)


class PurchasePaid(_Payload):
    purchase_id: uuid.UUID
    tenant_id: uuid.UUID
    account_id: uuid.UUID
    account_code: str
    quantity: int = Field(gt=0)
    buyer_user_id: uuid.UUID
    invoice_number: str
    total_cents: int
    currency: str
    paid_at: datetime


class PurchaseFailed(_Payload):
    purchase_id: uuid.UUID
    tenant_id: uuid.UUID
    account_id: uuid.UUID
    reason: str


class Posting(_Payload):
    account_id: uuid.UUID
    account_code: str
    amount: int  # positive: credits into the account; negative: out of it
    balance_after: int
    held_after: int = 0


class HoldChange(_Payload):
    """A change to an account's reserved credits (holds move no balance, so they are not postings)."""

    hold_id: uuid.UUID
    account_id: uuid.UUID
    account_code: str
    held_delta: int  # positive: reserved; negative: released
    held_after: int
    balance_after: int


class TransactionPosted(_Payload):
    transaction_id: uuid.UUID
    seq: int
    tenant_id: uuid.UUID
    kind: str
    occurred_at: datetime
    actor_user_id: uuid.UUID | None = None
    reference: str | None = None
    note: str | None = None
    postings: list[Posting]
    holds: list[HoldChange] = []
    terms_version: str | None = None


class BalanceLow(_Payload):
    tenant_id: uuid.UUID
    account_id: uuid.UUID
    account_code: str
    available: int
    threshold: int


class HoldExpired(_Payload):
    tenant_id: uuid.UUID
    hold_id: uuid.UUID
    account_id: uuid.UUID
    quantity: int


class CreditModeChanged(_Payload):
    tenant_id: uuid.UUID
    mode: Literal["shared", "individual"]
    previous_mode: Literal["shared", "individual"]
    user_ids: list[uuid.UUID]
    actor_user_id: uuid.UUID | None = None
    version: int | None = None  # the tenant's directory version after the change


class TenantChanged(_Payload):
    """The directory facts about a tenant that other services keep a copy of."""

    tenant_id: uuid.UUID
    name: str
    credit_mode: Literal["shared", "individual"]
    timezone: str
    low_balance_threshold: int
    version: int


class UserChanged(_Payload):
    """The directory facts about a person that other services keep a copy of. `actor_user_id` is who
    made the change (their name goes on any transfer it causes)."""

    tenant_id: uuid.UUID
    user_id: uuid.UUID
    name: str
    role: Literal["master", "user"]
    team: str | None
    active: bool
    send_sms: bool
    manage_credits: bool
    version: int
    actor_user_id: uuid.UUID | None = None


class RefundRequested(_Payload):
    """A master asked to refund part or all of a paid purchase: the ledger takes the credits back first."""

    refund_id: uuid.UUID
    purchase_id: uuid.UUID
    tenant_id: uuid.UUID
    account_id: uuid.UUID
    account_code: str
    quantity: int = Field(gt=0)
    requested_by: uuid.UUID
    invoice_number: str


class RefundDebited(_Payload):
    """The ledger took the refunded credits out of the account (a `refund` transaction)."""

    refund_id: uuid.UUID
    tenant_id: uuid.UUID
    account_id: uuid.UUID
    quantity: int
    transaction_id: uuid.UUID
    seq: int


class RefundRejected(_Payload):
    """The ledger refused the refund: the account no longer has the credits available."""

    refund_id: uuid.UUID
    tenant_id: uuid.UUID
    account_id: uuid.UUID
    quantity: int
    available: int
    reason: str


class RefundCompleted(_Payload):
    """The money went back through the payment provider and the adjustment note was issued."""

    refund_id: uuid.UUID
    purchase_id: uuid.UUID
    tenant_id: uuid.UUID
    account_id: uuid.UUID
    quantity: int
    total_cents: int
    tax_cents: int
    currency: str
    adjustment_note_number: str
    invoice_number: str


class RefundFailed(_Payload):
    """The payment provider refused the refund after the ledger had debited the credits: the ledger
    gives them back (compensation)."""

    refund_id: uuid.UUID
    purchase_id: uuid.UUID
    tenant_id: uuid.UUID
    account_id: uuid.UUID
    account_code: str
    quantity: int
    reason: str
    requested_by: uuid.UUID


class RefundRestored(_Payload):
    """The ledger credited back the credits of a refund the payment provider refused."""

    refund_id: uuid.UUID
    tenant_id: uuid.UUID
    account_id: uuid.UUID
    quantity: int
    transaction_id: uuid.UUID
    seq: int


class TopUpFailed(_Payload):
    """An automatic top-up's charge to the saved card was declined; auto top-up is suspended."""

    tenant_id: uuid.UUID
    account_id: uuid.UUID
    account_code: str
    purchase_id: uuid.UUID
    payer_user_id: uuid.UUID
    quantity: int
    reason: str


class MessageQueued(_Payload):
    """Messaging accepted a message for sending: its own queue takes it from here, so a burst of
    messages never holds up the gateway."""

    message_id: uuid.UUID
    tenant_id: uuid.UUID


class MessageSettled(_Payload):
    """The carrier answered for every part of a message: the ledger captures `captured_credits` of the
    hold (one credit per segment the carrier accepted, per recipient) and releases the rest."""

    message_id: uuid.UUID
    tenant_id: uuid.UUID
    hold_id: uuid.UUID
    account_code: str
    segments: int
    recipients: int
    accepted_recipients: int
    captured_credits: int = Field(ge=0)


CATALOGUE: dict[str, type[BaseModel]] = {
    PURCHASE_PAID: PurchasePaid,
    PURCHASE_FAILED: PurchaseFailed,
    TRANSACTION_POSTED: TransactionPosted,
    BALANCE_LOW: BalanceLow,
    HOLD_EXPIRED: HoldExpired,
    CREDIT_MODE_CHANGED: CreditModeChanged,
    TENANT_CHANGED: TenantChanged,
    USER_CHANGED: UserChanged,
    REFUND_REQUESTED: RefundRequested,
    REFUND_COMPLETED: RefundCompleted,
    REFUND_FAILED: RefundFailed,
    REFUND_DEBITED: RefundDebited,
    REFUND_REJECTED: RefundRejected,
    REFUND_RESTORED: RefundRestored,
    TOP_UP_FAILED: TopUpFailed,
    MESSAGE_QUEUED: MessageQueued,
    MESSAGE_SETTLED: MessageSettled,
}
