"""The public API's request and answer shapes. The OpenAPI document is generated from these same
models, so the document cannot drift from what the handlers accept.

Where the gateway relays a service's shape unchanged (a quote, a hold), the public model is the
service's contract model itself (`common.contracts`), imported here so that handlers find every public
shape in one place; where the public API adds a rule of its own, it subclasses it."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictInt

from common.contracts import billing, ledger, reporting
from common.contracts.billing import Quote as Quote
from common.contracts.ledger import CaptureRequest as CaptureRequest
from common.contracts.ledger import HoldView as HoldView
from common.contracts.ledger import LotView as LotView


class _Request(BaseModel):
    # Unknown fields are refused rather than ignored: a typo in `quantity` must not buy zero credits.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, str]] | None = None


class TokenRequest(_Request):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=1024)


class TokenAnswer(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - the scheme name, not a secret
    expires_in: int


class TenantView(BaseModel):
    id: uuid.UUID
    name: str
    credit_mode: Literal["shared", "individual"]
    timezone: str | None = Field(default=None, description="IANA time zone the tenant's reports use")
    refund_undelivered: bool = Field(default=True, description=(
        "Whether a message that does not arrive (undeliverable, rejected, no receipt in time) gives its credits back"))


class TenantPolicies(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refund_undelivered: StrictBool = Field(description="Give back the credits of messages that do not arrive")


class TermsView(BaseModel):
    version: str
    conditions: list[str]


class MeView(BaseModel):
    id: uuid.UUID
    name: str
    email: str
    role: Literal["master", "user", "operator", "service"]
    team: str | None
    send_sms: bool
    manage_credits: bool
    tenant: TenantView | None


class OwnerView(BaseModel):
    id: uuid.UUID
    name: str
    email: str


class AccountView(BaseModel):
    id: uuid.UUID
    kind: Literal["system", "user"]
    name: str = Field(description="'System Credits' or the owner's name")
    owner: OwnerView | None
    balance: int
    held: int
    available: int
    expiring_within_30_days: int = Field(default=0, description=(
        "Credits that lapse within 30 days unless spent first (GET /accounts/{id}/lots tells which and when)"))


class UserView(BaseModel):
    id: uuid.UUID
    name: str
    account_id: uuid.UUID | None = Field(description="The user's account, in individual mode")


def _documented(**constraints: Any) -> dict[str, Any]:
    """Constraints said in the document but checked by the service that owns the rule, which answers 422
    naming it (a range is a rule there, not malformed input): the document tells a client before it asks."""
    return constraints


# What the price list sells; billing refuses any other quantity (422 quantity-out-of-range).
MIN_PURCHASE, MAX_PURCHASE = 100, 1_000_000
_PURCHASE_QUANTITY = _documented(minimum=MIN_PURCHASE, maximum=MAX_PURCHASE)


class QuoteQuery(_Request):
    quantity: int = Field(description="Number of credits", json_schema_extra=_PURCHASE_QUANTITY)


class BillingDetails(billing.BillingDetails):
    # Billing's own shape, relayed to it as given; the public API also says up front how short an
    # address can be.
    email: str = Field(min_length=3, max_length=254, pattern=billing.EMAIL)


class PurchaseRequest(_Request):
    account_id: uuid.UUID
    quantity: StrictInt = Field(json_schema_extra=_PURCHASE_QUANTITY)
    billing: BillingDetails


class PurchaseCreated(BaseModel):
    id: uuid.UUID
    status: Literal["pending", "paid", "credited", "failed"] = Field(
        description="pending when new; a replayed Idempotency-Key answers the purchase as it is now"
    )
    checkout_url: str
    quote: Quote


class PurchaseView(BaseModel):
    id: uuid.UUID
    status: Literal["pending", "paid", "credited", "failed"]
    account_id: uuid.UUID
    account_name: str | None = Field(default=None, description="Whose credits were bought")
    buyer_user_id: uuid.UUID | None = None
    buyer_name: str | None = Field(default=None, description="Who bought them")
    quantity: int
    quote: Quote | None = None
    invoice_number: str | None = None
    invoice_url: str | None = None
    failure_reason: str | None = None
    consistency_token: int | None = None
    created_at: datetime | None = None
    paid_at: datetime | None = None


class CardPayment(_Request):
    card_number: str = Field(max_length=32)
    exp_month: int
    exp_year: int
    cvc: str = Field(max_length=8)
    name: str = Field(max_length=200)


class LogQuery(_Request):
    """Which rows of the log: what the CSV takes, and the page and the report add to. (Reporting checks
    `days` and `limit`, 422 out of range.)"""

    days: int = Field(default=30, description="How many days back",
                      json_schema_extra=_documented(minimum=1, maximum=30))
    account: list[uuid.UUID] | None = Field(default=None, description="Only these accounts (repeat the parameter)")
    kind: reporting.Kind | None = None
    direction: Literal["in", "out"] | None = None
    consistency_token: int | None = Field(default=None, ge=1, description="From a write's answer: wait for it")


class LogPageQuery(LogQuery):
    """A page of the log: where the last page ended, and how many rows."""

    cursor: str | None = Field(default=None, max_length=200, description="The last page's `next_cursor`")
    limit: int = Field(default=100, json_schema_extra=_documented(minimum=1, maximum=1000))


class ReportQuery(LogQuery):
    format: Literal["html", "pdf"] = "html"


class LogEntry(BaseModel):
    id: uuid.UUID
    occurred_at: datetime
    account_id: uuid.UUID
    account: str = Field(description="'System Credits' or the owner's name")
    transaction_id: uuid.UUID = Field(description="The ledger transaction; a transfer's id (GET /transfers/{id})")
    direction: Literal["in", "out"]
    quantity: int
    kind: str
    balance_after: int
    counterparty: str | None
    actor: str | None
    reference: str | None
    note: str | None
    reservation: bool = Field(default=False, description="A hold or its release: moves no balance")
    promotional: int = Field(default=0, description="How many of the row's credits were promotional (unpaid)")
    lot_expires_at: datetime | None = Field(default=None, description="On a `lot_expiry` row: when the lot lapsed")


class LogPage(BaseModel):
    entries: list[LogEntry]
    next_cursor: str | None
    stale: bool = False


class ServiceTokenRequest(_Request):
    client_id: str = Field(min_length=1, max_length=100)
    client_secret: str = Field(min_length=1, max_length=1024)


def _no_default(schema: dict[str, Any]) -> None:
    # Left out means unchanged, which the document says by not requiring the field; the `None` default
    # is only the handler's marker and is not a value the field takes, so it is not documented.
    schema.pop("default", None)


# The default of a field a PATCH may leave out. Typed Any so that the field itself can say it is never
# null: a person is always active or not, so `{"active": null}` is refused (400), never written.
_UNCHANGED: Any = Field(default=None, json_schema_extra=_no_default)


class UserChange(_Request):
    active: StrictBool = _UNCHANGED
    send_sms: StrictBool = _UNCHANGED
    manage_credits: StrictBool = _UNCHANGED
    team: str | None = Field(default=None, max_length=100, description="null: no team")
    role: Literal["master", "user"] = _UNCHANGED


class UserDetail(BaseModel):
    id: uuid.UUID
    name: str
    email: str
    role: str
    team: str | None
    active: bool
    send_sms: bool
    manage_credits: bool

    @classmethod
    def of(cls, person: Any) -> UserDetail:
        return cls(id=person.id, name=person.name, email=person.email, role=person.role, team=person.team,
                   active=person.active, send_sms=person.send_sms, manage_credits=person.manage_credits)


def _iso_8601(value: object) -> object:
    """Pydantic would also read a bare number as seconds since 1970: `as_of=0.5` quietly meant January
    1970. The document promises ISO 8601, so only that is taken."""
    if isinstance(value, str) and not _ISO_DATE.match(value):
        raise ValueError("expected an ISO 8601 date and time, such as 2026-11-20T10:00:00Z")
    return value


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")
IsoDatetime = Annotated[datetime, BeforeValidator(_iso_8601)]


class AccountQuery(_Request):
    as_of: IsoDatetime | None = Field(default=None, description="A past moment (ISO 8601): the balance then")


class TransferRequest(_Request):
    from_account: uuid.UUID
    to_account: uuid.UUID
    quantity: StrictInt = Field(description="From 1 to the ledger's maximum (1,000,000 unless configured)",
                                json_schema_extra=_documented(minimum=1))
    accept_terms: StrictBool = Field(description="The 'I agree to the conditions' tick; must be true")
    note: str | None = Field(default=None, max_length=500)


class AccountBalance(BaseModel):
    id: uuid.UUID
    balance: int


class TransferAnswer(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    id: uuid.UUID
    source: AccountBalance = Field(alias="from")
    target: AccountBalance = Field(alias="to")
    consistency_token: int = Field(description="Pass to GET /logs to see this transfer at once")


class HoldRequest(ledger.HoldRequest):
    # The ledger's own shape, relayed to it as given, with the public API's trimmed text.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CreditModeRequest(_Request):
    mode: Literal["shared", "individual"]


# -- Promotional grants (operators) -------------------------------------------------------------------


class GrantRequest(_Request):
    account_id: uuid.UUID = Field(description="The tenant's account the promotional credits go to")
    quantity: StrictInt = Field(json_schema_extra=_documented(minimum=1, maximum=1_000_000))
    expires_at: datetime | None = Field(default=None, description=(
        "When unspent promotional credits lapse, with a time zone; null or absent: never"))
    reason: str = Field(min_length=1, max_length=200, description="Why, in words: the log shows it")


class GrantAnswer(BaseModel):
    id: uuid.UUID = Field(description="The grant; its credits are the lot with reference `grant:<id>`")
    transaction_id: uuid.UUID
    lot_id: uuid.UUID
    account: AccountView = Field(description="The account, with its balance after the grant")
    quantity: int
    expires_at: datetime | None
    reason: str
