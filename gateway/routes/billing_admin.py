"""Operator actions on billing: a tenant's price list (tiers, tax rate, currency)."""

from __future__ import annotations

from aiohttp import web

from common.runtime import DB
from common.web import json_response, parse_json, path_uuid
from gateway.resources import BILLING
from gateway.routes.registry import api, caller_of, no_such
from gateway.schemas.billing import PriceListRequest, PriceListView
from gateway.usecases import price_lists


@api.route("PUT", "/admin/tenants/{id}/price-list", "Set a tenant's price list (operators only)",
           body=PriceListRequest, answer=PriceListView, tags=("admin",))
async def set_price_list(request: web.Request) -> web.Response:
    caller = caller_of(request)
    body = await parse_json(request, PriceListRequest)
    price_lists.authorise(caller)
    tenant_id = path_uuid(request, not_found=no_such("tenant"))
    view = await price_lists.set_price_list(request.app[DB], request.app[BILLING], caller, tenant_id, body)
    return json_response(view)


@api.route("GET", "/admin/tenants/{id}/price-list", "A tenant's price list (operators only)",
           answer=PriceListView, tags=("admin",))
async def get_price_list(request: web.Request) -> web.Response:
    caller = caller_of(request)
    price_lists.authorise(caller)
    tenant_id = path_uuid(request, not_found=no_such("tenant"))
    return json_response(await price_lists.price_list(request.app[DB], request.app[BILLING], caller, tenant_id))
