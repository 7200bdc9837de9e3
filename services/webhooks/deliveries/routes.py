"""An endpoint's delivery log and replays, over HTTP for the gateway."""

from __future__ import annotations

from aiohttp import web

from common.contracts.webhooks import DeliveryQuery, ReplaySince
from common.runtime import DB
from common.web import identity_of, json_response, parse_json, parse_query, path_uuid
from services.webhooks.deliveries import usecases
from services.webhooks.deliveries.domain import DeliveryNotFound
from services.webhooks.endpoints.domain import WebhookNotFound

routes = web.RouteTableDef()


@routes.get("/endpoints/{id}/deliveries")
async def list_deliveries(request: web.Request) -> web.Response:
    endpoint_id = path_uuid(request, not_found=WebhookNotFound)
    query = parse_query(request, DeliveryQuery)
    page = await usecases.log_page(request.app[DB], identity_of(request), endpoint_id, query.cursor, query.limit)
    return json_response(page)


@routes.post("/endpoints/{id}/deliveries/{delivery_id}/replay")
async def replay_delivery(request: web.Request) -> web.Response:
    endpoint_id = path_uuid(request, not_found=WebhookNotFound)
    delivery_id = path_uuid(request, "delivery_id", not_found=DeliveryNotFound)
    replayed = await usecases.replay_one(request.app[DB], identity_of(request), endpoint_id, delivery_id)
    return json_response(replayed, status=202)


@routes.post("/endpoints/{id}/replay")
async def replay_since(request: web.Request) -> web.Response:
    endpoint_id = path_uuid(request, not_found=WebhookNotFound)
    body = await parse_json(request, ReplaySince)
    replayed = await usecases.replay_since(request.app[DB], identity_of(request), endpoint_id, body.since)
    return json_response(replayed, status=202)
