"""The payload of every event type (its `data`), one model each: producers build them, consumers validate
against them, and the JSON Schemas and the AsyncAPI document are generated from them. The envelope and
the types are in `events.py`, which names these too (`events.TransactionPosted`).

Within a type, changes are additive only: a new optional field (say since when, as the fields below do),
never a renamed, removed, retyped or newly required one.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "BalanceLow",
    "BalanceRecovered",
    "CreditModeChanged",
    "HoldChange",
    "HoldExpired",
    "LotChange",
    "MessageQueued",
    "MessageSettled",
    "MessageUndelivered",
    "Posting",
    "PurchaseFailed",
    "PurchasePaid",
    "RefundCompleted",
    "RefundDebited",
    "RefundFailed",
    "RefundRejected",
    "RefundRequested",
    "RefundRestored",
    "TenantChanged",
    "TopUpFailed",
    "TopUpWatchChanged",
    "TransactionPosted",
    "UserChanged",
]


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


class TopUpWatchChanged(_Payload):
    """An account's auto top-up was switched on (watched) or off. The ledger marks the transactions that
    touch a watched account (the `auto-top-up-watched` header), so billing receives those and purchases
    only, not every transfer."""

    tenant_id: uuid.UUID
    account_id: uuid.UUID
    account_code: str
    watched: bool
    version: int = Field(ge=1, description="Grows with each change of the account's setting: an older one "
                                           "arriving late is ignored.")


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
