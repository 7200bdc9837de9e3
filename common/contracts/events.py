"""The CloudEvents 1.0 envelope and the catalogue of events: the contract between services, and with
every subscriber outside them (published as JSON Schemas and an AsyncAPI document, `docs/events.md`).

Every event has a namespaced `type` (`com.smscredits.<service>.<noun>.<verb>`); its routing key on the
exchange is the type without the namespace (`ledger.transaction.posted`), the key queues were bound to
before types had a namespace, so no binding changed. Payload models are the only definition of each
event's `data`; producers build them, consumers validate against them.

Versioning: within a type, changes are additive only (a new optional field, a new value where the schema
says the set is open); a breaking change is a new type with a `.v2` suffix, published beside the old one
for at least 90 days.
"""

from __future__ import annotations

import builtins
import os
import uuid
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from common.logs import current_request_id

NAMESPACE = "com.smscredits"
SPECVERSION = "1.0"
# Where the published schemas live: `dataschema` of every event points there. Read once: it is the
# public address of the gateway, the same for every service of one installation.
SCHEMA_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:8080").rstrip("/") + "/api/events/schemas"


def _type(routing_key: str) -> str:
    return f"{NAMESPACE}.{routing_key}"


def routing_key(event_type: str) -> str:
    """The exchange's routing key of an event type: the type without its namespace."""
    return event_type.removeprefix(f"{NAMESPACE}.")


def source(service: str) -> str:
    """The `source` of every event a service publishes: a URI reference naming the service."""
    return f"/sms-credits/{service}"


def schema_url(event_type: str) -> str:
    return f"{SCHEMA_BASE_URL}/{event_type}.json"


def sequence_text(sequence: int) -> str:
    """The CloudEvents sequence extension is a string compared lexicographically: zero-padded to 20
    digits (any bigint fits), so text order is number order."""
    return f"{sequence:020d}"


PURCHASE_PAID = _type("billing.purchase.paid")
PURCHASE_FAILED = _type("billing.purchase.failed")
TRANSACTION_POSTED = _type("ledger.transaction.posted")
BALANCE_LOW = _type("ledger.balance.low")
HOLD_EXPIRED = _type("ledger.hold.expired")
CREDIT_MODE_CHANGED = _type("gateway.tenant.credit_mode_changed")
TENANT_CHANGED = _type("gateway.directory.tenant_changed")
USER_CHANGED = _type("gateway.directory.user_changed")
REFUND_REQUESTED = _type("billing.refund.requested")
REFUND_COMPLETED = _type("billing.refund.completed")
REFUND_FAILED = _type("billing.refund.failed")
REFUND_DEBITED = _type("ledger.refund.debited")
REFUND_REJECTED = _type("ledger.refund.rejected")
REFUND_RESTORED = _type("ledger.refund.restored")
TOP_UP_FAILED = _type("billing.topup.failed")
MESSAGE_QUEUED = _type("messaging.message.queued")
MESSAGE_SETTLED = _type("messaging.message.settled")
MESSAGE_UNDELIVERED = _type("messaging.message.undelivered")
BALANCE_RECOVERED = _type("ledger.balance.recovered")

TYPES = frozenset({
    PURCHASE_PAID, PURCHASE_FAILED, TRANSACTION_POSTED, BALANCE_LOW, HOLD_EXPIRED, CREDIT_MODE_CHANGED, TENANT_CHANGED,
    USER_CHANGED, REFUND_REQUESTED, REFUND_COMPLETED, REFUND_FAILED, REFUND_DEBITED, REFUND_REJECTED, REFUND_RESTORED,
    TOP_UP_FAILED, MESSAGE_QUEUED, MESSAGE_SETTLED, MESSAGE_UNDELIVERED, BALANCE_RECOVERED,
})

PayloadT = TypeVar("PayloadT", bound=BaseModel)


def tenant_subject(tenant_id: uuid.UUID | str) -> str:
    return f"tenants/{tenant_id}"


def account_subject(tenant_id: uuid.UUID | str, account_id: uuid.UUID | str) -> str:
    return f"tenants/{tenant_id}/accounts/{account_id}"


def subject_in(tenant_id: uuid.UUID | str, collection: str, item: uuid.UUID | str) -> str:
    """The subject of an event about something of a tenant's other than an account (a user, a message,
    a transaction between several accounts)."""
    return f"tenants/{tenant_id}/{collection}/{item}"


class Event(BaseModel):
    """A CloudEvents 1.0 structured-mode JSON envelope, with two extension attributes: `requestid`
    carries the originating request's id across services, and `sequence` (the CloudEvents sequence
    extension) numbers a tenant's ledger events without gaps."""

    model_config = ConfigDict(extra="allow", frozen=True)

    specversion: Literal["1.0"] = "1.0"
    id: uuid.UUID
    source: str
    type: str
    time: datetime
    subject: str | None = None
    datacontenttype: Literal["application/json"] = "application/json"
    dataschema: str | None = None
    requestid: str | None = None
    sequence: str | None = None
    data: dict[str, Any]

    @model_validator(mode="before")
    @classmethod
    def _namespace_legacy_types(cls, value: Any) -> Any:
        # Migration path: an event written before types had a namespace (still in an outbox or a queue
        # when the new code starts) is read as the namespaced type it now is.
        if isinstance(value, dict) and isinstance(kind := value.get("type"), str) and _type(kind) in TYPES:
            return {**value, "type": _type(kind)}
        return value

    @classmethod
    def new(
        cls, *, type: str, source: str, subject: str | None, data: BaseModel,
        time: datetime | None = None, request_id: str | None = None,
    ) -> Event:
        """`time` is when the fact happened (default now); `request_id` the request that caused it (by
        default the one being handled)."""
        return cls(
            id=uuid.uuid4(),
            source=source,
            type=type,
            time=time or datetime.now(UTC),
            subject=subject,
            dataschema=schema_url(type),
            requestid=request_id or current_request_id(),
            data=data.model_dump(mode="json"),
        )

    @property
    def routing_key(self) -> str:
        return routing_key(self.type)

    @property
    def sequence_number(self) -> int | None:
        return int(self.sequence) if self.sequence is not None else None

    def with_sequence(self, sequence: int) -> Event:
        return self.model_copy(update={"sequence": sequence_text(sequence)})

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
    # When the purchased credits lapse (the price list's validity from the moment of payment); none: never.
    # Added in 1.1: an older publisher sends none, and its credits never expire.
    credits_expire_at: datetime | None = None


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


class LotChange(_Payload):
    """What a transaction did to one lot in one account: credits are kept by the purchase or grant they came
    from (their lot), with its expiry and whether they were paid for."""

    lot_id: uuid.UUID
    account_id: uuid.UUID
    account_code: str
    amount: int  # change in the lot's credits in this account: positive in, negative out
    reserved_delta: int = 0  # change in what holds reserve of it (holds move no credits)
    origin: str  # purchase | grant | compensation | opening (credits held before lots existed)
    paid: bool  # False: promotional, never refunded or invoiced
    expires_at: datetime | None = None


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
    # Added in 1.1: which lots the credits came from and went to (none on a transaction that moves no credits).
    lots: list[LotChange] = []


class BalanceLow(_Payload):
    tenant_id: uuid.UUID
    account_id: uuid.UUID
    account_code: str
    available: int
    threshold: int
    # Added in 1.1: the account's alert level that was crossed (none: the tenant's single threshold).
    alert_id: uuid.UUID | None = None
    level: str | None = None  # the alert's name ("Low", "Critical")


class BalanceRecovered(_Payload):
    """An account's available balance is back at or above an alert level it had fallen below."""

    tenant_id: uuid.UUID
    account_id: uuid.UUID
    account_code: str
    available: int
    threshold: int
    alert_id: uuid.UUID | None = None  # none: the tenant's single threshold
    level: str | None = None


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
    # Added in 1.1: an undeliverable, rejected or expired message gives its credits back (the tenant's policy).
    refund_undelivered: bool = True


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
    sender_user_id: uuid.UUID | None = None  # who sent it (added later: absent from older events)


class MessageUndelivered(_Payload):
    """One recipient's message will not arrive (the carrier said undeliverable or rejected, or no receipt
    came within the message's validity) after its credits were captured: the ledger gives them back as a
    `delivery_refund`, once per recipient, where the tenant's policy says so."""

    message_id: uuid.UUID
    tenant_id: uuid.UUID
    hold_id: uuid.UUID
    part_id: uuid.UUID  # the recipient's part of the message: one refund each
    account_code: str
    recipient: str  # masked: +61*******78
    status: Literal["undeliverable", "rejected", "expired"]
    credits: int = Field(gt=0)  # what the recipient's accepted segments cost
    sender_user_id: uuid.UUID | None = None
