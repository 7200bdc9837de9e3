"""The Stripe payment page's endpoints, which the gateway calls for the buyer (who holds the link)."""

from __future__ import annotations

from aiohttp import web

from common.runtime import DB
from common.web import json_response
from services.billing.payments.stripe.page import SCRIPT, CheckoutView, StripePage


def page_routes(page: StripePage) -> list[web.RouteDef]:
    async def show_session(request: web.Request) -> web.Response:
        return json_response(CheckoutView.of(await page.checkout(request.app[DB], request.match_info["session_id"])))

    async def show_page(request: web.Request) -> web.Response:
        return json_response(await page.page(request.app[DB], request.match_info["session_id"]))

    async def script(_: web.Request) -> web.Response:
        return web.Response(text=SCRIPT, content_type="application/javascript")

    return [
        web.get("/checkout-sessions/{session_id}", show_session),
        web.get("/stripe/pages/{session_id}", show_page),
        web.get("/stripe/checkout.js", script),
    ]
