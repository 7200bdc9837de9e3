"""Messaging's internal HTTP API (the gateway is its only caller): hand over a paid-for message, read
its status."""

from __future__ import annotations

import uuid
from datetime import datetime

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from common.problems import Forbidden
from common.runtime import DB
from common.web import identity_of, json_response, parse_json
from services.messaging import domain, usecases
from services.messaging.settings import MessagingSettings

SETTINGS = web.AppKey("settings", MessagingSettings)

routes = web.RouteTableDef()


class MessageOrder(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID
    hold_id: uuid.UUID
    hold_expires_at: datetime
    account_code: str = Field(max_length=100)
    recipients: list[str] = Field(min_length=1, max_length=1000)
    body: str = Field(max_length=5000)
    segments: StrictInt
    credits: StrictInt


class RecipientOut(BaseModel):
    to: str
    status: str
    error_code: int | None


class MessageOut(BaseModel):
    id: uuid.UUID
    status: str
    encoding: str
    segments: int
    credits: int
    captured_credits: int | None
    created_at: datetime
    settled_at: datetime | None
    sender_user_id: uuid.UUID
    account_code: str
    recipients: list[RecipientOut]

    @classmethod
    def of(cls, message: usecases.MessageView) -> MessageOut:
        return cls.model_validate(message, from_attributes=True)


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
    )
    message, created = await usecases.accept(request.app[DB], order)
    return json_response(MessageOut.of(message), status=201 if created else 200)


@routes.get("/messages/{id}")
async def get_message(request: web.Request) -> web.Response:
    try:
        message_id = uuid.UUID(request.match_info["id"])
    except ValueError:
        raise domain.MessageNotFound("No such message.") from None
    message = await usecases.view(request.app[DB], identity_of(request), message_id)
    return json_response(MessageOut.of(message))
