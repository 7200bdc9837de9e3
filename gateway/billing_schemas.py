"""Request and answer shapes of the billing API beyond purchases: refunds, auto top-up, saved billing
details and price lists. The OpenAPI document is generated from these, as from `schemas.py`."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt


class _Request(BaseModel):
    # Unknown fields are refused rather than ignored, as everywhere in the public API.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RefundRequest(_Request):
    quantity: StrictInt = Field(description="Credits to refund; at most what the account still has available")


class RefundView(BaseModel):
    id: uuid.UUID
    purchase_id: uuid.UUID
    status: Literal["requested", "debited", "refunded", "rejected", "failed"] = Field(
        description="requested -> debited (credits taken back) -> refunded (money returned); rejected when the "
        "credits were gone; failed when the provider refused (the credits are then restored)"
    )
    quantity: int
    subtotal: str = Field(examples=["40.00"], description="Refunded ex tax")
    tax: str = Field(examples=["4.00"], description="Tax reversed")
    total: str = Field(examples=["44.00"])
    currency: str
    requested_by: uuid.UUID
    failure_reason: str | None
    credits_restored: bool
    adjustment_note_number: str | None
    adjustment_note_url: str | None = Field(description="The adjustment note PDF, once refunded")
    created_at: datetime
    settled_at: datetime | None


class AutoTopUpRequest(_Request):
    threshold: StrictInt = Field(description="Top up when the available credits fall below this")
    quantity: StrictInt = Field(description="Credits bought by each top-up")
    daily_cap: StrictInt = Field(description="At most this many credits bought by auto top-up per day")


class CardView(BaseModel):
    brand: str
    last4: str


class AutoTopUpView(BaseModel):
    account_id: uuid.UUID
    status: Literal["active", "suspended", "off"] = Field(
        description="suspended after a declined charge, until the settings are saved again"
    )
    threshold: int
    quantity: int
    daily_cap: int
    suspended_reason: str | None
    payer_user_id: uuid.UUID = Field(description="Whose saved card pays")
    card: CardView | None


class SavedBillingDetails(BaseModel):
    name: str
    email: str
    company: str | None
    tax_id: str | None
    address: str | None


class BillingProfileView(BaseModel):
    billing: SavedBillingDetails | None = Field(description="The details used last, to offer on the next purchase")
    card: CardView | None = Field(description="The saved card auto top-up charges")


class PriceTierRequest(_Request):
    min_quantity: StrictInt = Field(gt=0)
    unit_price: Decimal = Field(max_digits=12, decimal_places=4, description="Ex tax, per credit")


class PriceListRequest(_Request):
    currency: str = Field(pattern=r"^[A-Z]{3}$", examples=["AUD"])
    tax_name: str = Field(min_length=1, max_length=20, examples=["GST"])
    tax_rate: Decimal = Field(max_digits=6, decimal_places=4, examples=["0.10"])
    min_quantity: StrictInt
    max_quantity: StrictInt
    tiers: list[PriceTierRequest] = Field(min_length=1, max_length=50)


class PriceTierView(BaseModel):
    min_quantity: int
    unit_price: str


class PriceListView(BaseModel):
    tenant_id: uuid.UUID
    source: Literal["tenant", "default"]
    currency: str
    tax_name: str
    tax_rate: str
    min_quantity: int
    max_quantity: int
    tiers: list[PriceTierView]
