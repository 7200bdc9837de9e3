"""Holds, for internal systems signed in with a service token: reserve credits, then capture what was
used or void the rest. The ledger checks the role again."""

from __future__ import annotations

from aiohttp import web

from common.web import idempotency_key, json_response, parse_json
from gateway import usecases
from gateway.resources import LEDGER
from gateway.routes.registry import api, caller_of, links_to, path_uuid
from gateway.schemas import CaptureRequest, HoldRequest, HoldView


@api.route("POST", "/holds", "Reserve credits (service token)", body=HoldRequest, answer=HoldView, status=201,
           headers=("Idempotency-Key",), tags=("holds",),
           links=links_to("capture_hold", "void_hold", id="$response.body#/id"))
async def place_hold(request: web.Request) -> web.Response:
    caller = caller_of(request)
    usecases.require_service(caller)
    key = idempotency_key(request)
    body = await parse_json(request, HoldRequest)
    answer = await request.app[LEDGER].call(
        "POST", "/holds", usecases.identity_for(caller), body=body.model_dump(mode="json"),
        headers={"Idempotency-Key": key},
    )
    return json_response(HoldView.model_validate(answer), status=201)


@api.route("POST", "/holds/{id}/capture", "Spend all or part of a hold (service token)", body=CaptureRequest,
           answer=HoldView, tags=("holds",))
async def capture_hold(request: web.Request) -> web.Response:
    caller = caller_of(request)
    usecases.require_service(caller)
    hold_id = path_uuid(request, "hold")
    body = await parse_json(request, CaptureRequest) if request.can_read_body else CaptureRequest()
    answer = await request.app[LEDGER].call(
        "POST", f"/holds/{hold_id}/capture", usecases.identity_for(caller), body=body.model_dump(exclude_none=True)
    )
    return json_response(HoldView.model_validate(answer))


@api.route("POST", "/holds/{id}/void", "Release a hold (service token)", answer=HoldView, tags=("holds",))
async def void_hold(request: web.Request) -> web.Response:
    caller = caller_of(request)
    usecases.require_service(caller)
    answer = await request.app[LEDGER].call(
        "POST", f"/holds/{path_uuid(request, 'hold')}/void", usecases.identity_for(caller)
    )
    return json_response(HoldView.model_validate(answer))
