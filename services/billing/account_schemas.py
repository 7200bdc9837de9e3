"""The shapes of the per-account and per-person settings billing keeps: auto top-up, the saved
billing details and card, and (for operators) a tenant's price list."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from services.billing.domain import (
    BillingDetails,
    PriceList,
    PriceTier,
    format_rate,
    format_unit_price,
    price_list_of,
)
from services.billing.providers import SavedCard
from services.billing.schemas import ACCOUNT_CODE
from services.billing.topup_rules import AutoTopUp, TopUpStatus


class CardOut(BaseModel):
    brand: str
    last4: str

    @classmethod
    def of(cls, card: SavedCard | None) -> CardOut | None:
        return cls(brand=card.brand, last4=card.last4) if card else None


class AutoTopUpIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_code: str = Field(pattern=ACCOUNT_CODE)
    threshold: StrictInt
    quantity: StrictInt
    daily_cap: StrictInt


class AutoTopUpOut(BaseModel):
    account_id: uuid.UUID
    status: TopUpStatus
    threshold: int
    quantity: int
    daily_cap: int
    suspended_reason: str | None
    payer_user_id: uuid.UUID
    card: CardOut | None

    @classmethod
    def of(cls, config: AutoTopUp, card: SavedCard | None) -> AutoTopUpOut:
        return cls(
            account_id=config.account_id, status=config.status, threshold=config.threshold,
            quantity=config.quantity, daily_cap=config.daily_cap, suspended_reason=config.suspended_reason,
            payer_user_id=config.payer_user_id, card=CardOut.of(card),
        )


class SavedBillingDetails(BaseModel):
    name: str
    email: str
    company: str | None
    tax_id: str | None
    address: str | None


class BillingProfileOut(BaseModel):
    billing: SavedBillingDetails | None
    card: CardOut | None

    @classmethod
    def of(cls, details: BillingDetails | None, card: SavedCard | None) -> BillingProfileOut:
        billing = SavedBillingDetails(**details.__dict__) if details else None
        return cls(billing=billing, card=CardOut.of(card))


class PriceTierIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_quantity: StrictInt = Field(gt=0)
    unit_price: Decimal = Field(max_digits=12, decimal_places=4, description="Ex tax, per credit")


class PriceListIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    currency: str = Field(pattern=r"^[A-Z]{3}$")
    tax_name: str = Field(min_length=1, max_length=20)
    tax_rate: Decimal = Field(max_digits=6, decimal_places=4)
    min_quantity: StrictInt
    max_quantity: StrictInt
    tiers: list[PriceTierIn] = Field(min_length=1, max_length=50)

    def price_list(self) -> PriceList:
        tiers = tuple(PriceTier(t.min_quantity, t.unit_price) for t in sorted(self.tiers, key=lambda t: t.min_quantity))
        return price_list_of(self.currency, self.tax_name, self.tax_rate, self.min_quantity, self.max_quantity, tiers)


class PriceTierOut(BaseModel):
    min_quantity: int
    unit_price: str


class PriceListOut(BaseModel):
    tenant_id: uuid.UUID
    source: Literal["tenant", "default"]
    currency: str
    tax_name: str
    tax_rate: str
    min_quantity: int
    max_quantity: int
    tiers: list[PriceTierOut]

    @classmethod
    def of(cls, tenant_id: uuid.UUID, price_list: PriceList, own: bool) -> PriceListOut:
        return cls(
            tenant_id=tenant_id, source="tenant" if own else "default", currency=price_list.currency,
            tax_name=price_list.tax_name, tax_rate=format_rate(price_list.tax_rate),
            min_quantity=price_list.min_quantity, max_quantity=price_list.max_quantity,
            tiers=[PriceTierOut(min_quantity=t.min_quantity, unit_price=format_unit_price(t.unit_price))
                   for t in price_list.tiers],
        )
