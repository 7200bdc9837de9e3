"""Refunds of purchases (the saga's wait is `gateway.usecases.refunds`): 201 with the adjustment note
once refunded (or with `failed` when the provider refused and the credits were restored), 422 if the
account lacks the credits, and 202 with the refund to poll if it is still under way."""

from __future__ import annotations

from aiohttp import web

from common.runtime import DB
from common.web import json_response, optional_idempotency_key, parse_json, path_uuid
from gateway.clients.billing import Purchase
from gateway.resources import BILLING, LEDGER
from gateway.routes.registry import api, caller_of, links_to, no_such
from gateway.schemas.billing import RefundRequest, RefundView
from gateway.usecases import purchases, refunds
from gateway.web.idempotency import idempotent


async def _visible_purchase(request: web.Request) -> Purchase:
    purchase_id = path_uuid(request, not_found=no_such("purchase"))
    return await purchases.visible_purchase(request.app[DB], request.app[BILLING], caller_of(request), purchase_id)


@api.route("POST", "/purchases/{id}/refunds", "Refund a paid purchase in full or in part (masters)",
           body=RefundRequest, answer=RefundView, status=201, tags=("purchases",),
           also=((202, "Still under way: the refund to poll, at Location"),), optional_headers=("Idempotency-Key",),
           errors=(400, 401, 403, 404, 409, 422, 429),
           links=links_to("get_refund", "adjustment_note", id="$request.path.id", refund_id="$response.body#/id"))
@idempotent
async def refund_purchase(request: web.Request) -> web.Response:
    caller = caller_of(request)
    body = await parse_json(request, RefundRequest)
    purchase_id = path_uuid(request, not_found=no_such("purchase"))
    key = optional_idempotency_key(request)
    waited = await refunds.refund(request.app[LEDGER], request.app[BILLING], caller, purchase_id, body.quantity,
                                  key)
    response = json_response(waited.refund, status=202 if waited.under_way else 201)
    if waited.under_way:
        response.headers["Location"] = f"/api/v1/purchases/{waited.refund.purchase_id}/refunds/{waited.refund.id}"
    return response


@api.route("GET", "/purchases/{id}/refunds", "A purchase's refunds", answer=RefundView, answer_is_list=True,
           tags=("purchases",))
async def list_refunds(request: web.Request) -> web.Response:
    purchase = await _visible_purchase(request)
    return json_response(await refunds.refunds_of(request.app[BILLING], caller_of(request), purchase))


@api.route("GET", "/purchases/{id}/refunds/{refund_id}", "One refund and its status", answer=RefundView,
           tags=("purchases",))
async def get_refund(request: web.Request) -> web.Response:
    purchase = await _visible_purchase(request)
    refund_id = path_uuid(request, "refund_id", no_such("refund"))
    return json_response(await refunds.refund_of(request.app[BILLING], caller_of(request), purchase, refund_id))


@api.route("GET", "/purchases/{id}/refunds/{refund_id}/adjustment-note.pdf", "A refund's adjustment note",
           content_type="application/pdf", tags=("purchases",))
async def adjustment_note(request: web.Request) -> web.Response:
    purchase = await _visible_purchase(request)
    refund_id = path_uuid(request, "refund_id", no_such("refund"))
    pdf = await refunds.adjustment_note(request.app[BILLING], caller_of(request), purchase, refund_id)
    # Named by its number (ADJ-ACME-000003.pdf), which only a refunded refund (the one with a note) has.
    refund = await refunds.refund_of(request.app[BILLING], caller_of(request), purchase, refund_id)
    filename = f"{refund.adjustment_note_number or 'adjustment-note'}.pdf"
    return web.Response(body=pdf, content_type="application/pdf",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})
