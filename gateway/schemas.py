"""The public API's request and answer shapes. The OpenAPI document is generated from these same
models, so the document cannot drift from what the handlers accept."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt


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


class MeView(BaseModel):
    id: uuid.UUID
    name: str
    email: str
    role: Literal["master", "user", "operator"]
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


class UserView(BaseModel):
    id: uuid.UUID
    name: str
    account_id: uuid.UUID | None = Field(description="The user's account, in individual mode")


class QuoteQuery(_Request):
    quantity: int = Field(description="Number of credits")


class Quote(BaseModel):
    quantity: int
    unit_price: str = Field(description="Ex tax, 4 decimal places", examples=["0.0800"])
    subtotal: str = Field(examples=["40.00"])
    tax_name: str = Field(examples=["GST"])
    tax_rate: str = Field(examples=["0.10"])
    tax: str = Field(examples=["4.00"])
    total: str = Field(examples=["44.00"])
    currency: str = Field(examples=["AUD"])


class BillingDetails(_Request):
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    company: str | None = Field(default=None, max_length=200)
    tax_id: str | None = Field(default=None, max_length=50, description="ABN, shown on the tax invoice")
    address: str | None = Field(default=None, max_length=500)


class PurchaseRequest(_Request):
    account_id: uuid.UUID
    quantity: StrictInt
    billing: BillingDetails


class PurchaseCreated(BaseModel):
    id: uuid.UUID
    status: Literal["pending"]
    checkout_url: str
    quote: Quote


class PurchaseView(BaseModel):
    id: uuid.UUID
    status: Literal["pending", "paid", "credited", "failed"]
    account_id: uuid.UUID
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
    days: int = 30
    account: list[uuid.UUID] | None = None
    kind: str | None = None
    direction: Literal["in", "out"] | None = None
    cursor: str | None = Field(default=None, max_length=200)
    limit: int = 100
    consistency_token: int | None = None


class LogEntry(BaseModel):
    id: uuid.UUID
    occurred_at: datetime
    account_id: uuid.UUID
    account: str = Field(description="'System Credits' or the owner's name")
    direction: Literal["in", "out"]
    quantity: int
    kind: str
    balance_after: int
    counterparty: str | None
    actor: str | None
    reference: str | None
    note: str | None


class LogPage(BaseModel):
    entries: list[LogEntry]
    next_cursor: str | None
    stale: bool = False
