"""Sending SMS (the flow, with its hold and hand-over, is `gateway.usecases.messages`)."""

from __future__ import annotations

from aiohttp import web

from common.runtime import DB
from common.web import idempotency_key, json_response, parse_json, path_uuid
from gateway.resources import LEDGER, MESSAGING, SETTINGS
from gateway.routes.registry import api, caller_of, no_such
from gateway.schemas.messages import (
    DestinationRates,
    MessageAccepted,
    MessageView,
    PreviewRequest,
    PreviewView,
    SendMessageRequest,
)
from gateway.usecases import messages
from gateway.usecases.identity import identity_for
from gateway.web.idempotency import idempotent


@api.route("POST", "/messages/preview", "Segments and credits a message would take (the live counter)",
           body=PreviewRequest, answer=PreviewView, tags=("messages",))
async def preview(request: web.Request) -> web.Response:
    body = await parse_json(request, PreviewRequest)
    rates = await request.app[MESSAGING].destination_rates(identity_for(caller_of(request))) if body.to else None
    return json_response(messages.preview(body.body, body.recipients, request.app[SETTINGS].max_message_segments,
                                          body.to, rates))


@api.route("POST", "/messages", "Send an SMS to one or more recipients", body=SendMessageRequest,
           answer=MessageAccepted, status=202, headers=("Idempotency-Key",), tags=("messages",))
@idempotent
async def send_message(request: web.Request) -> web.Response:
    caller = caller_of(request)
    key = idempotency_key(request)
    body = await parse_json(request, SendMessageRequest)
    accepted = await messages.send(request.app[DB], request.app[LEDGER], request.app[MESSAGING], caller, body, key,
                                   messages.MessageLimits.of(request.app[SETTINGS]))
    return json_response(accepted, status=202)


@api.route("GET", "/messages/{id}", "A message and each recipient's status", answer=MessageView,
           tags=("messages",), errors=(401, 403, 404))
async def get_message(request: web.Request) -> web.Response:
    caller = caller_of(request)
    tenant = caller.require_tenant()
    message_id = path_uuid(request, not_found=no_such("message"))
    return json_response(await messages.message_of(request.app[MESSAGING], caller, tenant, message_id))


@api.route("GET", "/destination-rates", "What an SMS segment costs by destination country, in credits",
           answer=DestinationRates, tags=("messages",), errors=(401,))
async def destination_rates(request: web.Request) -> web.Response:
    rates = await request.app[MESSAGING].destination_rates(identity_for(caller_of(request)))
    return json_response(DestinationRates(rates=rates))
