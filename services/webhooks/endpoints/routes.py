"""Endpoints over HTTP, for the gateway: parse, call the use case, answer."""

from __future__ import annotations

from aiohttp import web

from common.contracts.webhooks import EndpointChanges, EndpointOrder
from common.runtime import DB
from common.web import identity_of, json_response, optional_idempotency_key, parse_json, path_uuid
from services.webhooks.endpoints import usecases
from services.webhooks.endpoints.domain import WebhookNotFound
from services.webhooks.resources import SETTINGS

routes = web.RouteTableDef()


@routes.post("/endpoints")
async def create_endpoint(request: web.Request) -> web.Response:
    order = await parse_json(request, EndpointOrder)
    created, new = await usecases.create(request.app[DB], identity_of(request), order,
                                         optional_idempotency_key(request), request.app[SETTINGS].allow_private)
    return json_response(created, status=201 if new else 200)


@routes.get("/endpoints")
async def list_endpoints(request: web.Request) -> web.Response:
    return json_response(await usecases.endpoints_of(request.app[DB], identity_of(request)))


@routes.get("/endpoints/{id}")
async def get_endpoint(request: web.Request) -> web.Response:
    endpoint_id = path_uuid(request, not_found=WebhookNotFound)
    return json_response(await usecases.endpoint(request.app[DB], identity_of(request), endpoint_id))


@routes.patch("/endpoints/{id}")
async def change_endpoint(request: web.Request) -> web.Response:
    endpoint_id = path_uuid(request, not_found=WebhookNotFound)
    changes = await parse_json(request, EndpointChanges)
    changed = await usecases.change(request.app[DB], identity_of(request), endpoint_id, changes,
                                    request.app[SETTINGS].allow_private)
    return json_response(changed)


@routes.delete("/endpoints/{id}")
async def delete_endpoint(request: web.Request) -> web.Response:
    endpoint_id = path_uuid(request, not_found=WebhookNotFound)
    await usecases.remove(request.app[DB], identity_of(request), endpoint_id)
    return web.Response(status=204)


@routes.post("/endpoints/{id}/rotate-secret")
async def rotate_secret(request: web.Request) -> web.Response:
    endpoint_id = path_uuid(request, not_found=WebhookNotFound)
    rotated = await usecases.rotate_secret(request.app[DB], identity_of(request), endpoint_id,
                                           optional_idempotency_key(request))
    return json_response(rotated)
