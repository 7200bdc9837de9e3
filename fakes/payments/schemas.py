"""The shapes of the test processor's checkout endpoints: the card typed in, the session shown, and the
payment's outcome (the Stripe page answers a session in the same shape)."""

from __future__ import annotations

import uuid
from typing import Literal

import asyncpg
from pydantic import BaseModel, ConfigDict, Field

from services.billing.price_lists.domain import format_money


class CardIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    card_number: str = Field(min_length=1, max_length=30)
    exp_month: int
    exp_year: int
    cvc: str = Field(min_length=1, max_length=10)
    name: str = Field(min_length=1, max_length=200)


class CheckoutSessionOut(BaseModel):
    session_id: str
    purchase_id: uuid.UUID
    tenant_id: uuid.UUID
    status: Literal["open", "succeeded", "declined"]
    quantity: int
    total: str
    currency: str
    description: str

    @classmethod
    def of(cls, session: asyncpg.Record) -> CheckoutSessionOut:
        return cls(
            session_id=session["id"],
            purchase_id=session["purchase_id"],
            tenant_id=session["tenant_id"],
            status=session["status"],
            quantity=session["quantity"],
            total=format_money(session["total_cents"]),
            currency=session["currency"],
            description=session["description"],
        )


class PaymentOut(BaseModel):
    purchase_id: uuid.UUID
    tenant_id: uuid.UUID
    outcome: Literal["succeeded", "declined"]
    failure_code: str | None = None
