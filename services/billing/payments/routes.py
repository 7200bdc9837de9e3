"""The payment provider's webhook: public, its signature over the exact body the only authentication."""

from __future__ import annotations

import time

from aiohttp import web

from common.runtime import DB
from services.billing.payments import usecases
from services.billing.resources import PROVIDER, SETTINGS, seller_of


async def payment_webhook(request: web.Request) -> web.Response:
    """Public: the provider's signature over the exact body is the only authentication."""
    provider = request.app[PROVIDER]
    body = await request.read()
    notice = await provider.read_webhook(request.headers, body, time.time())
    if notice is None:
        return web.json_response({"received": True, "outcome": "ignored"})
    outcome = await usecases.record_payment(request.app[DB], provider, notice, seller_of(request.app[SETTINGS]))
    return web.json_response({"received": True, "outcome": outcome})


def webhook_routes(provider_name: str) -> list[web.RouteDef]:
    """The webhook of the deployment's provider, under its name (`/webhooks/stripe`)."""
    return [web.post(f"/webhooks/{provider_name}", payment_webhook)]
