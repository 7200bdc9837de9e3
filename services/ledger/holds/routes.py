"""`POST /holds`, its capture and void, and the count of a tenant's open holds."""

from __future__ import annotations

from aiohttp import web

from common.contracts.ledger import CaptureRequest, HoldRequest, OpenHolds
from common.runtime import DB
from common.web import idempotency_key, identity_of, json_response, parse_json, path_uuid
from services.ledger.holds import domain, usecases
from services.ledger.holds.schemas import hold_answer
from services.ledger.postings.domain import AccountNotFound
from services.ledger.resources import SETTINGS

routes = web.RouteTableDef()


def _no_such_hold() -> domain.HoldNotFound:
    return domain.HoldNotFound("No such hold.")


def _no_such_tenant() -> AccountNotFound:
    return AccountNotFound("No such tenant.")


@routes.post("/holds")
async def place_hold(request: web.Request) -> web.Response:
    key = idempotency_key(request)
    body = await parse_json(request, HoldRequest)
    settings = request.app[SETTINGS]
    domain.check_expiry(body.expires_in, settings.max_hold_seconds)
    hold = await usecases.place(request.app[DB], identity_of(request), body.account_id, body.quantity,
                                body.reference, body.expires_in, key, settings.max_transfer_quantity,
                                note=body.note)
    return json_response(hold_answer(hold), status=201)


@routes.post("/holds/{id}/capture")
async def capture_hold(request: web.Request) -> web.Response:
    body = await parse_json(request, CaptureRequest) if request.can_read_body else CaptureRequest()
    hold_id = path_uuid(request, not_found=_no_such_hold)
    hold = await usecases.capture(request.app[DB], identity_of(request), hold_id, body.quantity)
    return json_response(hold_answer(hold))


@routes.post("/holds/{id}/void")
async def void_hold(request: web.Request) -> web.Response:
    hold_id = path_uuid(request, not_found=_no_such_hold)
    hold = await usecases.void(request.app[DB], identity_of(request), hold_id)
    return json_response(hold_answer(hold))


@routes.get("/tenants/{id}/open-holds")
async def open_holds(request: web.Request) -> web.Response:
    """How many holds are open in a tenant: a credit-mode switch waits until there are none."""
    domain.require_operator(identity_of(request))
    tenant_id = path_uuid(request, not_found=_no_such_tenant)
    return json_response(OpenHolds(open_holds=await usecases.open_holds(request.app[DB], tenant_id)))
