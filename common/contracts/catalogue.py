"""The catalogue of events as published: for each type its payload model, who publishes it, the shape of
its `subject`, what it means and who outside the services may read it. The JSON Schemas and the AsyncAPI
document (`/api/asyncapi.json`) are generated from this; `common/contracts/events.py` defines the types
and payloads themselves."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

from common.contracts.events import (
    BALANCE_LOW,
    BALANCE_RECOVERED,
    CREDIT_MODE_CHANGED,
    HOLD_EXPIRED,
    MESSAGE_QUEUED,
    MESSAGE_SETTLED,
    MESSAGE_UNDELIVERED,
    PURCHASE_FAILED,
    PURCHASE_PAID,
    REFUND_COMPLETED,
    REFUND_DEBITED,
    REFUND_FAILED,
    REFUND_REJECTED,
    REFUND_REQUESTED,
    REFUND_RESTORED,
    TENANT_CHANGED,
    TOP_UP_FAILED,
    TOP_UP_WATCH_CHANGED,
    TRANSACTION_POSTED,
    USER_CHANGED,
    BalanceLow,
    BalanceRecovered,
    CreditModeChanged,
    HoldExpired,
    MessageQueued,
    MessageSettled,
    MessageUndelivered,
    PurchaseFailed,
    PurchasePaid,
    RefundCompleted,
    RefundDebited,
    RefundFailed,
    RefundRejected,
    RefundRequested,
    RefundRestored,
    TenantChanged,
    TopUpFailed,
    TopUpWatchChanged,
    TransactionPosted,
    UserChanged,
    routing_key,
    source,
)

# Who may read what: the event types offered to webhooks and the live stream (the rest are the services'
# own conversation: a refund's steps between billing and the ledger, the directory's copies).
Audience = Literal["public", "internal"]

ACCOUNT = "tenants/{tenant_id}/accounts/{account_id}"
TENANT = "tenants/{tenant_id}"


@dataclass(frozen=True)
class EventSpec:
    """One event type as published: what the AsyncAPI document and the JSON Schemas are generated from."""

    type: str
    payload: builtins.type[BaseModel]
    publisher: str  # the service whose outbox it leaves from
    subject: str  # the pattern of its `subject`
    summary: str
    audience: Audience = "internal"
    sequenced: bool = False  # carries the tenant's gapless `sequence` (the ledger's events)

    @property
    def routing_key(self) -> str:
        return routing_key(self.type)

    @property
    def source(self) -> str:
        return source(self.publisher)


def _spec(event_type: str, payload: builtins.type[BaseModel], subject: str, summary: str,
          audience: Audience = "internal") -> EventSpec:
    publisher = routing_key(event_type).split(".", 1)[0]
    return EventSpec(event_type, payload, publisher, subject, summary, audience, sequenced=publisher == "ledger")


CATALOGUE: dict[str, EventSpec] = {
    spec.type: spec
    for spec in (
        _spec(PURCHASE_PAID, PurchasePaid, ACCOUNT, "A purchase was paid: the ledger credits the account.", "public"),
        _spec(PURCHASE_FAILED, PurchaseFailed, ACCOUNT, "A purchase's payment failed: no credits.", "public"),
        _spec(TRANSACTION_POSTED, TransactionPosted, "tenants/{tenant_id}/transactions/{transaction_id}",
              "Credits moved: one double-entry transaction (a purchase credited, a transfer, a hold, a capture, "
              "a refund, a sweep) with every posting and the balances after it.", "public"),
        _spec(BALANCE_LOW, BalanceLow, ACCOUNT,
              "An account's available balance fell below the tenant's low-balance threshold.", "public"),
        _spec(HOLD_EXPIRED, HoldExpired, ACCOUNT, "A hold lapsed unused and its credits were released.", "public"),
        _spec(CREDIT_MODE_CHANGED, CreditModeChanged, TENANT,
              "The tenant switched between shared and individual credits.", "public"),
        _spec(TENANT_CHANGED, TenantChanged, TENANT, "The directory's facts about a tenant changed."),
        _spec(USER_CHANGED, UserChanged, "tenants/{tenant_id}/users/{user_id}",
              "The directory's facts about a person changed."),
        _spec(REFUND_REQUESTED, RefundRequested, ACCOUNT,
              "A master asked to refund a purchase: the ledger takes the credits back first."),
        _spec(REFUND_COMPLETED, RefundCompleted, ACCOUNT,
              "A refund went through: money returned, adjustment note issued.", "public"),
        _spec(REFUND_FAILED, RefundFailed, ACCOUNT,
              "The payment provider refused a refund: the ledger gives the credits back.", "public"),
        _spec(REFUND_DEBITED, RefundDebited, ACCOUNT, "The ledger took a refund's credits out of the account."),
        _spec(REFUND_REJECTED, RefundRejected, ACCOUNT,
              "The ledger refused a refund: the credits are no longer available."),
        _spec(REFUND_RESTORED, RefundRestored, ACCOUNT,
              "The ledger credited back the credits of a refund the provider refused."),
        _spec(TOP_UP_FAILED, TopUpFailed, ACCOUNT,
              "An automatic top-up's charge was declined; auto top-up is suspended.", "public"),
        _spec(TOP_UP_WATCH_CHANGED, TopUpWatchChanged, ACCOUNT,
              "An account's auto top-up was switched on or off: the ledger marks the transactions that touch "
              "a watched account for billing."),
        _spec(MESSAGE_QUEUED, MessageQueued, "tenants/{tenant_id}/messages/{message_id}",
              "Messaging accepted a message for sending."),
        _spec(MESSAGE_SETTLED, MessageSettled, "tenants/{tenant_id}/messages/{message_id}",
              "The carrier answered for every part of a message: its credits are captured.", "public"),
        _spec(MESSAGE_UNDELIVERED, MessageUndelivered, "tenants/{tenant_id}/messages/{message_id}",
              "One recipient's message will not arrive (undeliverable, rejected, or no receipt in time): its "
              "credits are given back where the tenant's policy says so.", "public"),
        _spec(BALANCE_RECOVERED, BalanceRecovered, ACCOUNT,
              "An account's available balance is back at or above an alert level it had fallen below.", "public"),
    )
}
