"""Sending SMS: the credits are reserved first (a ledger hold, synchronously, so a shortfall is a 422
and nothing is sent), then the message is handed to messaging, which submits it to the carrier from
its own queue and settles the hold with what the carrier accepted."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from common import sms
from common.accounts import SYSTEM, account_id, user_code
from common.identity import Identity
from common.logs import get_logger
from common.problems import Conflict, Forbidden, RuleBroken
from common.runtime import DB
from common.web import idempotency_key, json_response, parse_json
from gateway import domain, usecases
from gateway.auth import Caller
from gateway.clients import ServiceNotReached, UpstreamProblem
from gateway.message_schemas import (
    MessageAccepted,
    MessageView,
    PreviewRequest,
    PreviewView,
    SendMessageRequest,
)
from gateway.resources import LEDGER, MESSAGING, SETTINGS
from gateway.routes.registry import api, caller_of, path_uuid

log = get_logger(__name__)
# A message's id comes from its sender and Idempotency-Key: a retried request names the same message,
# and so the same hold and the same hand-over, and is answered as the first.
_MESSAGE_IDS = uuid.UUID("1b0c8c52-7a53-4d4e-9a37-6f8a2f3e51c4")


class SendingForbidden(Forbidden):
    slug = "send-sms-forbidden"


class InvalidMessage(RuleBroken):
    slug = "invalid-message"


class AttemptCancelled(Conflict):
    slug = "attempt-cancelled"
    title = "This attempt was cancelled"


@api.route("POST", "/messages/preview", "Segments and credits a message would take (the live counter)",
           body=PreviewRequest, answer=PreviewView, tags=("messages",))
async def preview(request: web.Request) -> web.Response:
    body = await parse_json(request, PreviewRequest)
    counted = sms.segment(body.body)
    return json_response(PreviewView(
        encoding=counted.encoding, characters=len(body.body), units=counted.units, segments=counted.segments,
        per_segment=counted.per_segment, remaining=counted.remaining,
        max_segments=request.app[SETTINGS].max_message_segments, recipients=body.recipients,
        credits=counted.segments * body.recipients,
    ))


@api.route("POST", "/messages", "Send an SMS to one or more recipients", body=SendMessageRequest,
           answer=MessageAccepted, status=202, headers=("Idempotency-Key",), tags=("messages",))
async def send_message(request: web.Request) -> web.Response:
    caller = caller_of(request)
    key = idempotency_key(request)
    body = await parse_json(request, SendMessageRequest)
    if not caller.person.send_sms:
        raise SendingForbidden("You are not allowed to send SMS.")
    account = await _sending_account(request, caller, body.from_account)
    settings = request.app[SETTINGS]
    recipients = _recipients(body.to, settings.max_message_recipients)
    counted = _segments(body.body, settings.max_message_segments)
    message_id = uuid.uuid5(_MESSAGE_IDS, f"{caller.person.id}/{key}")
    credits = counted.segments * len(recipients)
    hold = await _reserve(request, caller, account, message_id, credits)
    order = {"id": str(message_id), "hold_id": hold["id"], "hold_expires_at": hold["expires_at"],
             "account_code": account.code, "recipients": recipients, "body": body.body,
             "segments": counted.segments, "credits": credits}
    message = await _hand_over(request, caller, hold, order)
    log.info("message_handed_over", message_id=str(message_id), recipients=len(recipients), credits=credits)
    return json_response(MessageAccepted(
        id=message_id, status=message["status"], from_account=account.id, encoding=counted.encoding,
        segments=counted.segments, recipients=len(recipients), credits=credits,
    ), status=202)


@api.route("GET", "/messages/{id}", "A message and each recipient's status", answer=MessageView,
           tags=("messages",))
async def get_message(request: web.Request) -> web.Response:
    caller = caller_of(request)
    tenant = caller.require_tenant()
    message = await request.app[MESSAGING].call(
        "GET", f"/messages/{path_uuid(request, 'message')}", usecases.identity_for(caller)
    )
    return json_response(MessageView.model_validate(
        {**message, "from_account": account_id(tenant.id, message["account_code"])}
    ))


async def _sending_account(request: web.Request, caller: Caller, wanted: uuid.UUID | None) -> domain.AccountRef:
    """A sender pays from their own User Credits in individual mode and System Credits in shared mode,
    and from no other account."""
    tenant = caller.require_tenant()
    code = SYSTEM if tenant.credit_mode == "shared" else user_code(caller.person.id)
    [own] = await usecases.accounts_named(request.app[DB], tenant, account_id(tenant.id, code))
    if wanted is not None and wanted != own.id:
        await usecases.accounts_named(request.app[DB], tenant, wanted)  # another tenant's, or none: 404
        raise domain.AccountForbidden(
            "You send from your own credits: "
            + ("System Credits, in shared mode." if code == SYSTEM else "your User Credits, in individual mode.")
        )
    return own


def _recipients(numbers: list[str], maximum: int) -> list[str]:
    """E.164, each once (a number given twice is sent and charged once), every bad one named."""
    normalised, errors = [], []
    for index, number in enumerate(numbers):
        try:
            normalised.append(sms.e164(number))
        except sms.InvalidNumber as exc:
            errors.append({"field": f"to.{index}", "message": f"{number[:40]}: {exc}"})
    if errors:
        raise InvalidMessage("Some recipients are not valid phone numbers.", errors=errors)
    unique = list(dict.fromkeys(normalised))
    if len(unique) > maximum:
        raise InvalidMessage(f"A message goes to at most {maximum} recipients.",
                             errors=[{"field": "to", "message": f"At most {maximum} recipients."}])
    return unique


def _segments(body: str, maximum: int) -> sms.Segmentation:
    counted = sms.segment(body)
    if counted.segments == 0:
        raise InvalidMessage("Write a message: it is empty.", errors=[{"field": "body", "message": "Empty."}])
    if counted.segments > maximum:
        raise InvalidMessage(f"The message is {counted.segments} segments long; at most {maximum} are allowed.",
                             errors=[{"field": "body", "message": f"At most {maximum} segments."}])
    return counted


async def _reserve(
    request: web.Request, caller: Caller, account: domain.AccountRef, message_id: uuid.UUID, credits: int
) -> dict[str, Any]:
    """The hold, keyed by the message: a retried request reserves once. The ledger checks again that
    this person may spend from this account."""
    hold: dict[str, Any] = await request.app[LEDGER].call(
        "POST", "/holds", usecases.identity_for(caller), headers={"Idempotency-Key": f"message:{message_id}"},
        body={"account_id": str(account.id), "quantity": credits, "reference": f"message:{message_id}",
              "expires_in": request.app[SETTINGS].message_hold_seconds},
    )
    return hold


async def _hand_over(request: web.Request, caller: Caller, hold: dict[str, Any], order: dict[str, Any]) -> Any:
    messaging = request.app[MESSAGING]
    identity = usecases.identity_for(caller)
    if hold["status"] != "open":
        # A retry of a message already settled (its hold captured) is answered as it is; a retry of an
        # attempt whose hold was released unsent never sends under that key again.
        try:
            return await messaging.call("GET", f"/messages/{order['id']}", identity)
        except UpstreamProblem as exc:
            if exc.status != 404:
                raise
            raise AttemptCancelled("This attempt was cancelled and nothing was sent: send it again with a new "
                                   "Idempotency-Key.") from None
    try:
        return await messaging.call("POST", "/messages", identity, body=order)
    except ServiceNotReached:
        # Messaging never got the message: release its credits now rather than at the hold's expiry.
        await request.app[LEDGER].call("POST", f"/holds/{hold['id']}/void", _voider(caller))
        raise


def _voider(caller: Caller) -> Identity:
    return Identity(role="service", tenant_id=caller.require_tenant().id)

