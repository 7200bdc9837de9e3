"""`GET` and `PUT /accounts/alerts?code=...`: an account's alert levels, read and replaced."""

from __future__ import annotations

from aiohttp import web

from common.contracts.ledger import AlertLevels
from common.runtime import DB
from common.web import identity_of, json_response, parse_json, parse_query
from services.ledger.alerts import usecases
from services.ledger.alerts.schemas import AlertsQuery

routes = web.RouteTableDef()


@routes.get("/accounts/alerts")
async def get_alerts(request: web.Request) -> web.Response:
    query = parse_query(request, AlertsQuery)
    tenant_id = identity_of(request).require_tenant()
    return json_response(await usecases.levels_of(request.app[DB], tenant_id, query.code))


@routes.put("/accounts/alerts")
async def set_alerts(request: web.Request) -> web.Response:
    query = parse_query(request, AlertsQuery)
    body = await parse_json(request, AlertLevels)
    return json_response(await usecases.set_levels(request.app[DB], identity_of(request), query.code, body))
