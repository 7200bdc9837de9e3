"""Holds, for internal systems signed in with a service token: reserve credits, then capture what was
used or void the rest. The ledger checks the role again."""

from __future__ import annotations

from aiohttp import web

from common.web import idempotency_key, parse_json, path_uuid
from gateway.resources import LEDGER
from gateway.routes.registry import api, caller_of, links_to, no_such
from gateway.schemas.credits import CaptureRequest, HoldRequest, HoldView
from gateway.usecases import holds
from gateway.web.idempotency import idempotent


@api.route("POST", "/holds", "Reserve credits (service token)", body=HoldRequest, answer=HoldView, status=201,
           headers=("Idempotency-Key",), tags=("holds",), errors=(400, 401, 403, 404, 409, 422, 429),
           links=links_to("capture_hold", "void_hold", id="$response.body#/id"))
@idempotent
async def place_hold(request: web.Request) -> web.Response:
    caller = caller_of(request)
    holds.require_service(caller)
    key = idempotency_key(request)
    body = await parse_json(request, HoldRequest)
    return _relayed(await holds.place(request.app[LEDGER], caller, body, key), status=201)


@api.route("POST", "/holds/{id}/capture", "Spend all or part of a hold (service token)", body=CaptureRequest,
           body_required=False, answer=HoldView, tags=("holds",), optional_headers=("Idempotency-Key",))
@idempotent
async def capture_hold(request: web.Request) -> web.Response:
    caller = caller_of(request)
    holds.require_service(caller)
    hold_id = path_uuid(request, not_found=no_such("hold"))
    # `body_exists`, not `can_read_body`: the replay store has read the body already when a key was sent,
    # and a capture of part of a hold must not become a capture of all of it.
    body = await parse_json(request, CaptureRequest) if request.body_exists else CaptureRequest()
    return _relayed(await holds.capture(request.app[LEDGER], caller, hold_id, body))


@api.route("POST", "/holds/{id}/void", "Release a hold (service token)", answer=HoldView, tags=("holds",),
           optional_headers=("Idempotency-Key",))
@idempotent
async def void_hold(request: web.Request) -> web.Response:
    caller = caller_of(request)
    holds.require_service(caller)
    hold_id = path_uuid(request, not_found=no_such("hold"))
    return _relayed(await holds.void(request.app[LEDGER], caller, hold_id))


def _relayed(hold_view: bytes, status: int = 200) -> web.Response:
    """The ledger's `HoldView` JSON, which is the public answer's shape too, as the ledger sent it."""
    return web.Response(body=hold_view, status=status, content_type="application/json")
