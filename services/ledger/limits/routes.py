"""`GET` and `PUT /users/{id}/limits`: a person's monthly credit limit and what is left of it."""

from __future__ import annotations

from aiohttp import web

from common.contracts.ledger import UserLimitRequest
from common.runtime import DB
from common.web import identity_of, json_response, parse_json, path_uuid
from services.ledger.limits import domain, usecases

routes = web.RouteTableDef()


@routes.get("/users/{id}/limits")
async def get_limits(request: web.Request) -> web.Response:
    user_id = path_uuid(request, not_found=domain.UserNotFound)
    return json_response(await usecases.limit_of(request.app[DB], identity_of(request), user_id))


@routes.put("/users/{id}/limits")
async def put_limits(request: web.Request) -> web.Response:
    user_id = path_uuid(request, not_found=domain.UserNotFound)
    body = await parse_json(request, UserLimitRequest)
    view = await usecases.set_limit(request.app[DB], identity_of(request), user_id, body.monthly_credit_limit)
    return json_response(view)
