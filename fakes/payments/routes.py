"""The test processor's checkout endpoints, which the gateway's checkout page calls.

The caller is the gateway acting for whoever holds the link: the unguessable session id is the
capability, so these answer without a tenant. The card is validated and reduced to brand and last
four by the checkout; it is never logged, stored or sent on.
"""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from common.runtime import DB
from common.web import json_response, parse_json
from fakes.payments.cards import CardDetails
from fakes.payments.checkout import TestCheckout
from fakes.payments.schemas import CardIn, CheckoutSessionOut, PaymentOut


def checkout_routes(checkout: TestCheckout) -> list[web.RouteDef]:
    async def show_session(request: web.Request) -> web.Response:
        session = await checkout.session(request.app[DB], request.match_info["session_id"])
        return json_response(CheckoutSessionOut.of(session))

    async def pay(request: web.Request) -> web.Response:
        card = await parse_json(request, CardIn)
        details = CardDetails(card.card_number, card.exp_month, card.exp_year, card.cvc, card.name)
        today = datetime.now(UTC).date()
        result = await checkout.pay(request.app[DB], request.match_info["session_id"], details, today)
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
