"""Per-account and per-tenant settings: auto top-up (the account's), price lists (the operator's)."""

from __future__ import annotations

import uuid

from aiohttp import web

from common.problems import NotFound
from common.runtime import DB
from common.web import identity_of, json_response, parse_json
from services.billing import price_lists, topups
from services.billing.account_schemas import AutoTopUpIn, AutoTopUpOut, PriceListIn, PriceListOut
from services.billing.routes import PROVIDER, tenant_of
from services.billing.topup_rules import TopUpRequest


def _path_uuid(request: web.Request, name: str) -> uuid.UUID:
    try:
        return uuid.UUID(request.match_info[name])
    except ValueError:
        raise NotFound("Not found.") from None


async def put_auto_top_up(request: web.Request) -> web.Response:
    identity = identity_of(request)
    account_id = _path_uuid(request, "account_id")
    body = await parse_json(request, AutoTopUpIn)
    wanted = TopUpRequest(account_id, body.account_code, body.threshold, body.quantity, body.daily_cap)
    config, card = await topups.configure(request.app[DB], identity, request.app[PROVIDER].name, wanted)
    return json_response(AutoTopUpOut.of(config, card))


async def get_auto_top_up(request: web.Request) -> web.Response:
    tenant_id = tenant_of(identity_of(request))
    config, card = await topups.settings_of(
        request.app[DB], tenant_id, _path_uuid(request, "account_id"), request.app[PROVIDER].name
    )
    return json_response(AutoTopUpOut.of(config, card))


async def delete_auto_top_up(request: web.Request) -> web.Response:
    config = await topups.turn_off(request.app[DB], identity_of(request), _path_uuid(request, "account_id"))
    return json_response(AutoTopUpOut.of(config, None))


async def put_price_list(request: web.Request) -> web.Response:
    tenant_id = _path_uuid(request, "tenant_id")
    body = await parse_json(request, PriceListIn)
    saved = await price_lists.set_for_tenant(request.app[DB], identity_of(request), tenant_id, body.price_list())
    return json_response(PriceListOut.of(tenant_id, saved, own=True))


async def get_price_list(request: web.Request) -> web.Response:
    tenant_id = _path_uuid(request, "tenant_id")
    price_list, own = await price_lists.of_tenant(request.app[DB], identity_of(request), tenant_id)
    return json_response(PriceListOut.of(tenant_id, price_list, own))


account_routes = [
    web.put("/accounts/{account_id}/auto-top-up", put_auto_top_up),
    web.get("/accounts/{account_id}/auto-top-up", get_auto_top_up),
    web.delete("/accounts/{account_id}/auto-top-up", delete_auto_top_up),
    web.put("/price-lists/{tenant_id}", put_price_list),
    web.get("/price-lists/{tenant_id}", get_price_list),
]
