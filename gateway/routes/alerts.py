"""An account's balance alerts: the levels below which its holder and the tenant's masters are emailed."""

from __future__ import annotations

from aiohttp import web

from common.contracts.ledger import AlertLevels, AlertView
from common.runtime import DB
from common.web import json_response, parse_json, path_uuid
from gateway.resources import LEDGER
from gateway.routes.registry import api, caller_of, no_such
from gateway.usecases import alerts


@api.route("GET", "/accounts/{id}/alerts", "The account's balance alert levels, each with its threshold now",
           answer=AlertView, answer_is_list=True, tags=("accounts",), errors=(401, 403, 404))
async def get_alerts(request: web.Request) -> web.Response:
    caller = caller_of(request)
    wanted = path_uuid(request, not_found=no_such("account"))
    levels = await alerts.alert_levels(request.app[DB], request.app[LEDGER], caller, caller.require_tenant(), wanted)
    return json_response(levels)


@api.route("PUT", "/accounts/{id}/alerts", "Replace the account's balance alert levels (at most five; none: off)",
           body=AlertLevels, answer=AlertView, answer_is_list=True, tags=("accounts",),
           errors=(400, 401, 403, 404, 422))
async def set_alerts(request: web.Request) -> web.Response:
    caller = caller_of(request)
    body = await parse_json(request, AlertLevels)
    wanted = path_uuid(request, not_found=no_such("account"))
    levels = await alerts.set_alert_levels(request.app[DB], request.app[LEDGER], caller, caller.require_tenant(),
                                           wanted, body)
    return json_response(levels)
