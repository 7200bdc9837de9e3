"""The test provider's checkout endpoints, which the gateway's checkout page calls.

The caller is the gateway acting for whoever holds the link: the unguessable session id is the
capability, so these answer without a tenant. The card is validated and reduced to brand and last
four here; it is never logged, stored or sent on.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

import asyncpg
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from common.runtime import DB
from common.web import json_response, parse_json
from services.billing.cards import CardDetails
from services.billing.domain import format_money

if TYPE_CHECKING:
    from services.billing.providers.test import TestPaymentProvider


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


def checkout_routes(provider: TestPaymentProvider) -> list[web.RouteDef]:
    async def show_session(request: web.Request) -> web.Response:
        session = await provider.session(request.app[DB], request.match_info["session_id"])
        return json_response(CheckoutSessionOut.of(session))

    async def pay(request: web.Request) -> web.Response:
        card = await parse_json(request, CardIn)
        details = CardDetails(card.card_number, card.exp_month, card.exp_year, card.cvc, card.name)
        today = datetime.now(UTC).date()
        result = await provider.pay(request.app[DB], request.match_info["session_id"], details, today)
        return json_response(
            PaymentOut(
                purchase_id=result.purchase_id,
                tenant_id=result.tenant_id,
                outcome="succeeded" if result.succeeded else "declined",
                failure_code=result.failure_code,
            )
        )

    return [
        web.get("/checkout-sessions/{session_id}", show_session),
        web.post("/checkout-sessions/{session_id}/pay", pay),
    ]
