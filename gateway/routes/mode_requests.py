"""Credit mode requests: a master asks to switch individual <-> shared, an operator approves or rejects."""

from __future__ import annotations

from aiohttp import web

from common.runtime import DB
from common.web import json_response, parse_json, parse_query, path_uuid
from gateway.resources import LEDGER
from gateway.routes.registry import api, caller_of, links_to
from gateway.schemas.mode_requests import (
    ApprovalNote,
    CreditModeRequestsQuery,
    CreditModeRequestView,
    NewCreditModeRequest,
    RejectionNote,
)
from gateway.usecases import mode_requests
from gateway.web.idempotency import idempotent

_DECISION_ERRORS = (400, 401, 403, 404, 409, 429)


def _no_such_request() -> mode_requests.RequestNotFound:
    return mode_requests.RequestNotFound("No such credit mode request.")


@api.route("POST", "/credit-mode-requests", "Ask to switch your organisation's credit mode (masters only; one "
           "pending at a time)", body=NewCreditModeRequest, answer=CreditModeRequestView, status=201,
           optional_headers=("Idempotency-Key",), tags=("credit-mode-requests",),
           errors=(400, 401, 403, 409, 422, 429),
           links=links_to("approve_credit_mode_request", "reject_credit_mode_request", id="$response.body#/id"))
@idempotent
async def ask_for_credit_mode(request: web.Request) -> web.Response:
    body = await parse_json(request, NewCreditModeRequest)
    asked = await mode_requests.ask(request.app[DB], caller_of(request), body)
    return json_response(CreditModeRequestView.of(asked), status=201)


@api.route("GET", "/credit-mode-requests", "Credit mode requests: a master's own organisation's, an operator's "
           "every organisation's; newest first", query=CreditModeRequestsQuery, answer=CreditModeRequestView,
           answer_is_list=True, tags=("credit-mode-requests",), errors=(400, 401, 403))
async def list_credit_mode_requests(request: web.Request) -> web.Response:
    query = parse_query(request, CreditModeRequestsQuery)
    found = await mode_requests.listed(request.app[DB], caller_of(request), query.status, query.limit)
    return json_response([CreditModeRequestView.of(r) for r in found])


@api.route("POST", "/admin/credit-mode-requests/{id}/approve", "Approve a credit mode request: the switch is made "
           "(409 while the organisation has open holds; the request stays pending) (operators only)",
           body=ApprovalNote, body_required=False, answer=CreditModeRequestView, tags=("admin",),
           optional_headers=("Idempotency-Key",), errors=_DECISION_ERRORS)
@idempotent
async def approve_credit_mode_request(request: web.Request) -> web.Response:
    caller = caller_of(request)
    request_id = path_uuid(request, not_found=_no_such_request)
    body = await parse_json(request, ApprovalNote) if request.body_exists else ApprovalNote()
    decided = await mode_requests.approve(request.app[DB], request.app[LEDGER], caller, request_id, body.note)
    return json_response(CreditModeRequestView.of(decided))


@api.route("POST", "/admin/credit-mode-requests/{id}/reject", "Reject a credit mode request with a note "
           "(operators only)", body=RejectionNote, answer=CreditModeRequestView, tags=("admin",),
           optional_headers=("Idempotency-Key",), errors=_DECISION_ERRORS)
@idempotent
async def reject_credit_mode_request(request: web.Request) -> web.Response:
    caller = caller_of(request)
    request_id = path_uuid(request, not_found=_no_such_request)
    body = await parse_json(request, RejectionNote)
    decided = await mode_requests.reject(request.app[DB], caller, request_id, body.note)
    return json_response(CreditModeRequestView.of(decided))
