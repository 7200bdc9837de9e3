"""Each tenant's price list, for operators (a buyer's quote is asked under `purchases`)."""

from __future__ import annotations

from aiohttp import web

from common.contracts.billing import PriceListRequest
from common.runtime import DB
from common.web import identity_of, json_response, parse_json, path_uuid
from services.billing.price_lists import usecases
from services.billing.price_lists.schemas import keeps_validity, price_list_answer, requested_price_list


async def put_price_list(request: web.Request) -> web.Response:
    tenant_id = path_uuid(request, "tenant_id")
    body = await parse_json(request, PriceListRequest)
    saved = await usecases.set_for_tenant(request.app[DB], identity_of(request), tenant_id, requested_price_list(body),
                                          keeps_validity(body))
    return json_response(price_list_answer(tenant_id, saved, own=True))


async def get_price_list(request: web.Request) -> web.Response:
    tenant_id = path_uuid(request, "tenant_id")
    price_list, own = await usecases.of_tenant(request.app[DB], identity_of(request), tenant_id)
    return json_response(price_list_answer(tenant_id, price_list, own))


routes = [
    web.put("/price-lists/{tenant_id}", put_price_list),
    web.get("/price-lists/{tenant_id}", get_price_list),
]
