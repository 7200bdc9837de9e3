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

from pydantic import BaseModel, ConfigDict, model_validator

# The payloads are named here too: `events.TransactionPosted` is how the code has always spoken of them.
from common.contracts.payloads import *  # noqa: F403
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
TOP_UP_WATCH_CHANGED = _type("billing.topup.watch_changed")
MESSAGE_QUEUED = _type("messaging.message.queued")
MESSAGE_SETTLED = _type("messaging.message.settled")
MESSAGE_UNDELIVERED = _type("messaging.message.undelivered")
BALANCE_RECOVERED = _type("ledger.balance.recovered")

TYPES = frozenset({
    PURCHASE_PAID, PURCHASE_FAILED, TRANSACTION_POSTED, BALANCE_LOW, HOLD_EXPIRED, CREDIT_MODE_CHANGED, TENANT_CHANGED,
    USER_CHANGED, REFUND_REQUESTED, REFUND_COMPLETED, REFUND_FAILED, REFUND_DEBITED, REFUND_REJECTED, REFUND_RESTORED,
    TOP_UP_FAILED, TOP_UP_WATCH_CHANGED, MESSAGE_QUEUED, MESSAGE_SETTLED, MESSAGE_UNDELIVERED, BALANCE_RECOVERED,
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
