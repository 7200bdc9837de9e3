"""The shapes of billing's HTTP requests and answers; money leaves as decimal strings."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from services.billing.domain import (
    BillingDetails,
    Purchase,
    PurchaseOrigin,
    PurchaseStatus,
    Quote,
    format_money,
    format_rate,
    format_unit_price,
)

ACCOUNT_CODE = r"^(system|user:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$"
# Deliberately loose (and the gateway's own rule): an address is proven by mail arriving, not a pattern.
_EMAIL = r"^[^@\s]+@[^@\s]+$"


class QuoteQuery(BaseModel):
    quantity: int


class QuoteOut(BaseModel):
    quantity: int
    unit_price: str
    subtotal: str
    tax_name: str
    tax_rate: str
    tax: str
    total: str
    currency: str

    @classmethod
    def of(cls, quote: Quote) -> QuoteOut:
        return cls(
            quantity=quote.quantity,
            unit_price=format_unit_price(quote.unit_price),
            subtotal=format_money(quote.subtotal_cents),
            tax_name=quote.tax_name,
            tax_rate=format_rate(quote.tax_rate),
            tax=format_money(quote.tax_cents),
            total=format_money(quote.total_cents),
            currency=quote.currency,
        )


class BillingIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    email: str = Field(max_length=254, pattern=_EMAIL)
    company: str | None = Field(default=None, max_length=200)
    tax_id: str | None = Field(default=None, max_length=50)
    address: str | None = Field(default=None, max_length=500)

    def details(self) -> BillingDetails:
        # An empty optional field means "not given", so that it does not print as a blank line.
        return BillingDetails(
            name=self.name,
            email=self.email,
            company=self.company or None,
            tax_id=self.tax_id or None,
            address=self.address or None,
        )


class PurchaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_id: uuid.UUID
    account_code: str = Field(pattern=ACCOUNT_CODE)
    quantity: StrictInt
    billing: BillingIn


class PurchaseOut(BaseModel):
    id: uuid.UUID
    status: PurchaseStatus
    account_id: uuid.UUID
    account_code: str
    buyer_user_id: uuid.UUID
    quantity: int
    quote: QuoteOut
    checkout_url: str | None
    invoice_number: str | None
    invoice_url: str | None
    failure_reason: str | None
    consistency_token: int | None
    created_at: datetime
    paid_at: datetime | None
    buyer_name: str | None
    account_name: str | None
    origin: PurchaseOrigin

    @classmethod
    def of(cls, purchase: Purchase) -> PurchaseOut:
        return cls(
            id=purchase.id,
            status=purchase.status,
            account_id=purchase.account_id,
            account_code=purchase.account_code,
            buyer_user_id=purchase.buyer_user_id,
            quantity=purchase.quote.quantity,
            quote=QuoteOut.of(purchase.quote),
            checkout_url=purchase.checkout_url if purchase.status == "pending" else None,
            invoice_number=purchase.invoice_number,
            invoice_url=f"/api/v1/purchases/{purchase.id}/invoice.pdf" if purchase.is_paid else None,
            failure_reason=purchase.failure_reason,
            consistency_token=purchase.consistency_token,
            created_at=purchase.created_at,
            paid_at=purchase.paid_at,
            buyer_name=purchase.buyer_name,
            account_name=purchase.account_name,
            origin=purchase.origin,
        )
