"""Webhooks (the rules are `gateway.usecases.webhooks`; deliveries are made and sent by the webhooks
service, never here): masters only, each answer naming their tenant's webhooks alone."""

from __future__ import annotations

from aiohttp import web

from common.web import json_response, optional_idempotency_key, parse_json, parse_query, path_uuid
from gateway.resources import WEBHOOKS
from gateway.routes.registry import api, caller_of, links_to, no_such
from gateway.schemas.webhooks import (
    DeliveriesQuery,
    ReplayedView,
    ReplayRequest,
    WebhookChanges,
    WebhookCreated,
    WebhookDelivery,
    WebhookDeliveryPage,
    WebhookRequest,
    WebhookSecret,
    WebhookView,
)
from gateway.usecases import webhooks
from gateway.web.idempotency import idempotent

_TAGS = ("webhooks",)
_KEY = ("Idempotency-Key",)
# A POST with no body of its own: a bad key (400), not a master (403), no such webhook (404), the key
# reused with another request (409), the write limit (429).
_BODILESS_WRITE = (400, 401, 403, 404, 409, 429)


@api.route("POST", "/webhooks", "Register a webhook: an outside system receiving some of the tenant's public "
           "events, signed (masters)", body=WebhookRequest, answer=WebhookCreated, status=201, tags=_TAGS,
           optional_headers=_KEY,
           links=links_to("get_webhook", "change_webhook", "rotate_webhook_secret", "list_webhook_deliveries",
                          "replay_webhook_deliveries", id="$response.body#/id"))
@idempotent
async def create_webhook(request: web.Request) -> web.Response:
    body = await parse_json(request, WebhookRequest)
    created = await webhooks.create(request.app[WEBHOOKS], caller_of(request), body, optional_idempotency_key(request))
    response = json_response(created, status=201)
    response.headers["Location"] = f"/api/v1/webhooks/{created.id}"
    return response


@api.route("GET", "/webhooks", "The tenant's webhooks (masters)", answer=WebhookView, answer_is_list=True,
           tags=_TAGS, errors=(401, 403))
async def list_webhooks(request: web.Request) -> web.Response:
    return json_response(await webhooks.webhooks_of(request.app[WEBHOOKS], caller_of(request)))


@api.route("GET", "/webhooks/{id}", "One webhook (masters)", answer=WebhookView, tags=_TAGS, errors=(401, 403, 404))
async def get_webhook(request: web.Request) -> web.Response:
    webhook_id = path_uuid(request, not_found=no_such("webhook"))
    return json_response(await webhooks.webhook(request.app[WEBHOOKS], caller_of(request), webhook_id))


@api.route("PATCH", "/webhooks/{id}", "Change a webhook's URL, event types or description, or enable it again "
           "(masters)", body=WebhookChanges, answer=WebhookView, tags=_TAGS)
async def change_webhook(request: web.Request) -> web.Response:
    webhook_id = path_uuid(request, not_found=no_such("webhook"))
    body = await parse_json(request, WebhookChanges)
    return json_response(await webhooks.change(request.app[WEBHOOKS], caller_of(request), webhook_id, body))


@api.route("DELETE", "/webhooks/{id}", "Delete a webhook and its delivery log (masters)", status=204, tags=_TAGS,
           errors=(401, 403, 404, 429))
async def delete_webhook(request: web.Request) -> web.Response:
    webhook_id = path_uuid(request, not_found=no_such("webhook"))
    await webhooks.delete(request.app[WEBHOOKS], caller_of(request), webhook_id)
    return web.Response(status=204)


@api.route("POST", "/webhooks/{id}/rotate-secret", "A new signing secret; the previous one signs too for 24 hours "
           "(masters)", answer=WebhookSecret, tags=_TAGS, optional_headers=_KEY, errors=_BODILESS_WRITE)
@idempotent
async def rotate_webhook_secret(request: web.Request) -> web.Response:
    webhook_id = path_uuid(request, not_found=no_such("webhook"))
    rotated = await webhooks.rotate_secret(request.app[WEBHOOKS], caller_of(request), webhook_id,
                                           optional_idempotency_key(request))
    return json_response(rotated)


@api.route("GET", "/webhooks/{id}/deliveries", "A webhook's deliveries, newest first (masters)",
           query=DeliveriesQuery, answer=WebhookDeliveryPage, tags=_TAGS, errors=(400, 401, 403, 404))
async def list_webhook_deliveries(request: web.Request) -> web.Response:
    webhook_id = path_uuid(request, not_found=no_such("webhook"))
    query = parse_query(request, DeliveriesQuery)
    return json_response(await webhooks.deliveries(request.app[WEBHOOKS], caller_of(request), webhook_id, query))


@api.route("POST", "/webhooks/{id}/deliveries/{delivery_id}/replay", "Send one delivery again, with the same "
           "webhook-id (masters)", answer=WebhookDelivery, status=202, tags=_TAGS, optional_headers=_KEY,
           errors=_BODILESS_WRITE)
@idempotent
async def replay_webhook_delivery(request: web.Request) -> web.Response:
    webhook_id = path_uuid(request, not_found=no_such("webhook"))
    delivery_id = path_uuid(request, "delivery_id", no_such("delivery"))
    replayed = await webhooks.replay(request.app[WEBHOOKS], caller_of(request), webhook_id, delivery_id)
    return json_response(replayed, status=202)


@api.route("POST", "/webhooks/{id}/replay", "Send again, in order, every delivery made since a time (masters)",
           body=ReplayRequest, answer=ReplayedView, status=202, tags=_TAGS, optional_headers=_KEY)
@idempotent
async def replay_webhook_deliveries(request: web.Request) -> web.Response:
    webhook_id = path_uuid(request, not_found=no_such("webhook"))
    body = await parse_json(request, ReplayRequest)
    replayed = await webhooks.replay_since(request.app[WEBHOOKS], caller_of(request), webhook_id, body)
    return json_response(replayed, status=202)
