"""Operator actions on billing: a tenant's price list (tiers, tax rate, currency)."""

from __future__ import annotations

from aiohttp import web

from common.problems import Forbidden, NotFound
from common.runtime import DB
from common.web import json_response, parse_json
from gateway import store
from gateway.billing_schemas import PriceListRequest, PriceListView
from gateway.resources import BILLING
from gateway.routes.registry import api, caller_of, path_uuid
from gateway.usecases import identity_for


async def _tenant_id(request: web.Request) -> str:
    caller = caller_of(request)
    if caller.person.role != "operator":
        raise Forbidden("Only platform operators manage price lists.", slug="operators-only")
    tenant_id = path_uuid(request, "tenant")
    async with request.app[DB].acquire() as conn:
        if await store.tenant(conn, tenant_id) is None:
            raise NotFound("No such tenant.")
    return str(tenant_id)


@api.route("PUT", "/admin/tenants/{id}/price-list", "Set a tenant's price list (operators only)",
           body=PriceListRequest, answer=PriceListView, tags=("admin",))
async def set_price_list(request: web.Request) -> web.Response:
    body = await parse_json(request, PriceListRequest)
    tenant_id = await _tenant_id(request)
    answer = await request.app[BILLING].call(
        "PUT", f"/price-lists/{tenant_id}", identity_for(caller_of(request)), body=body.model_dump(mode="json")
    )
    return json_response(PriceListView.model_validate(answer))


@api.route("GET", "/admin/tenants/{id}/price-list", "A tenant's price list (operators only)",
           answer=PriceListView, tags=("admin",))
async def get_price_list(request: web.Request) -> web.Response:
    tenant_id = await _tenant_id(request)
    answer = await request.app[BILLING].call("GET", f"/price-lists/{tenant_id}", identity_for(caller_of(request)))
    return json_response(PriceListView.model_validate(answer))
