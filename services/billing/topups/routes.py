"""An account's auto top-up: set it, read it, turn it off."""

from __future__ import annotations

from aiohttp import web

from common.contracts.billing import AutoTopUpSettings
from common.runtime import DB
from common.web import identity_of, json_response, parse_json, path_uuid
from services.billing.purchases.domain import tenant_of
from services.billing.resources import PROVIDER
from services.billing.topups import usecases
from services.billing.topups.domain import TopUpRequest
from services.billing.topups.schemas import auto_top_up_answer


async def put_auto_top_up(request: web.Request) -> web.Response:
    identity = identity_of(request)
    account_id = path_uuid(request, "account_id")
    body = await parse_json(request, AutoTopUpSettings)
    wanted = TopUpRequest(account_id, body.account_code, body.threshold, body.quantity, body.daily_cap,
                          body.monthly_cap_cents)
    config, card = await usecases.configure(request.app[DB], identity, request.app[PROVIDER].name, wanted)
    return json_response(auto_top_up_answer(config, card))


async def get_auto_top_up(request: web.Request) -> web.Response:
    tenant_id = tenant_of(identity_of(request))
    config, card = await usecases.settings_of(
        request.app[DB], tenant_id, path_uuid(request, "account_id"), request.app[PROVIDER].name
    )
    return json_response(auto_top_up_answer(config, card))


async def delete_auto_top_up(request: web.Request) -> web.Response:
    config = await usecases.turn_off(request.app[DB], identity_of(request), path_uuid(request, "account_id"))
    return json_response(auto_top_up_answer(config, None))


routes = [
    web.put("/accounts/{account_id}/auto-top-up", put_auto_top_up),
    web.get("/accounts/{account_id}/auto-top-up", get_auto_top_up),
    web.delete("/accounts/{account_id}/auto-top-up", delete_auto_top_up),
]
