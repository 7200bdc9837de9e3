"""Messaging's internal HTTP API (the gateway is its only caller): hand over a paid-for message, read
its status."""

from __future__ import annotations

from aiohttp import web

from common.contracts.messaging import MessageOrder
from common.problems import Forbidden
from common.runtime import DB
from common.web import identity_of, json_response, parse_json, path_uuid
from services.messaging.messages import domain, usecases
from services.messaging.messages.schemas import message_answer

routes = web.RouteTableDef()


@routes.post("/messages")
async def hand_over(request: web.Request) -> web.Response:
    identity = identity_of(request)
    tenant_id = identity.require_tenant()
    if identity.role not in ("master", "user") or identity.user_id is None or not identity.send_sms:
        raise Forbidden("Only a person allowed to send SMS sends a message.")
    body = await parse_json(request, MessageOrder)
    order = domain.Order(
        message_id=body.id, hold_id=body.hold_id, hold_expires_at=body.hold_expires_at, tenant_id=tenant_id,
        sender_user_id=identity.user_id, account_code=body.account_code, recipients=tuple(body.recipients),
        body=body.body, segments=body.segments, credits=body.credits,
        credits_per_segment=tuple(body.credits_per_segment) if body.credits_per_segment is not None else None,
    )
    message, created = await usecases.accept(request.app[DB], order)
    return json_response(message_answer(message), status=201 if created else 200)


@routes.get("/messages/{id}")
async def get_message(request: web.Request) -> web.Response:
    message_id = path_uuid(request, "id", lambda: domain.MessageNotFound("No such message."))
    message = await usecases.view(request.app[DB], identity_of(request), message_id)
    return json_response(message_answer(message))
