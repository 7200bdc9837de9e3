"""`GET /destination-rates` (any caller: prices are no secret) and `PUT /destination-rates` (operators)."""

from __future__ import annotations

from aiohttp import web

from common.contracts.messaging import DestinationRates
from common.runtime import DB
from common.web import identity_of, json_response, parse_json
from services.messaging.pricing import usecases

routes = web.RouteTableDef()


@routes.get("/destination-rates")
async def read_rates(request: web.Request) -> web.Response:
    return json_response(DestinationRates(rates=await usecases.rates(request.app[DB])))


@routes.put("/destination-rates")
async def set_rates(request: web.Request) -> web.Response:
    body = await parse_json(request, DestinationRates)
    table = await usecases.set_rates(request.app[DB], identity_of(request), body.rates)
    return json_response(DestinationRates(rates=table))
