"""`GET /prices`: what the caller's tenant pays, shown before a purchase (quantity limits, price tiers, tax,
credit validity)."""

from __future__ import annotations

from aiohttp import web

from common.web import json_response
from gateway.resources import BILLING
from gateway.routes.registry import api, caller_of
from gateway.schemas.billing import PriceListView
from gateway.usecases.identity import identity_for


@api.route("GET", "/prices", "The prices the caller's tenant pays: the quantities it may buy, the price per credit "
           "from each quantity up, the tax, and how long the credits bought last", answer=PriceListView,
           tags=("purchases",))
async def prices(request: web.Request) -> web.Response:
    caller = caller_of(request)
    tenant = caller.require_tenant()
    return json_response(await request.app[BILLING].price_list(identity_for(caller), tenant.id))
