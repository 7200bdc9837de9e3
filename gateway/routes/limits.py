"""A person's monthly credit limit: what it is and what is left this month, and setting it."""

from __future__ import annotations

from aiohttp import web

from common.contracts.ledger import UserLimitRequest, UserLimitView
from common.runtime import DB
from common.web import json_response, parse_json, path_uuid
from gateway.resources import LEDGER
from gateway.routes.registry import api, caller_of, no_such
from gateway.usecases import limits


@api.route("GET", "/users/{id}/limits", "A person's monthly credit limit and what is left of it this month "
           "(the person, masters, users who manage credits)", answer=UserLimitView, tags=("directory",),
           errors=(401, 403, 404))
async def get_limits(request: web.Request) -> web.Response:
    user_id = path_uuid(request, not_found=no_such("user"))
    return json_response(await limits.limit_of(request.app[DB], request.app[LEDGER], caller_of(request), user_id))


@api.route("PUT", "/users/{id}/limits", "Set a person's monthly credit limit, or null for none (masters, users "
           "who manage credits); a message beyond it is refused with 422 monthly-limit-reached",
           body=UserLimitRequest, answer=UserLimitView, tags=("directory",), errors=(400, 401, 403, 404, 422))
async def put_limits(request: web.Request) -> web.Response:
    caller = caller_of(request)
    user_id = path_uuid(request, not_found=no_such("user"))
    body = await parse_json(request, UserLimitRequest)
    return json_response(await limits.set_limit(request.app[DB], request.app[LEDGER], caller, user_id, body))
