"""Refund endpoints: a master asks, anyone who may see the purchase follows it (the gateway decides
who that is), and the adjustment note is served once the money has gone back."""

from __future__ import annotations

import uuid

from aiohttp import web

from common.runtime import DB
from common.web import identity_of, json_response, parse_json
from services.billing import refunds, usecases
from services.billing.refund_rules import RefundNotFound
from services.billing.refund_schemas import RefundIn, RefundOut
from services.billing.routes import SETTINGS, purchase_id_of, tenant_of


def _refund_id(request: web.Request) -> uuid.UUID:
    try:
        return uuid.UUID(request.match_info["refund_id"])
    except ValueError:
        raise RefundNotFound() from None


async def request_refund(request: web.Request) -> web.Response:
    identity = identity_of(request)
    purchase_id = purchase_id_of(request)
    body = await parse_json(request, RefundIn)
    # Without a key every request is a new refund; with one, a retry answers the first.
    key = request.headers.get("Idempotency-Key", "").strip()[:200] or f"refund:{uuid.uuid4()}"
    refund, created = await refunds.request_refund(request.app[DB], identity, purchase_id, body.quantity, key)
    purchase = await usecases.purchase_of(request.app[DB], refund.tenant_id, purchase_id)
    return json_response(RefundOut.of(refund, purchase.quote.currency), status=201 if created else 200)


async def list_refunds(request: web.Request) -> web.Response:
    tenant_id = tenant_of(identity_of(request))
    purchase_id = purchase_id_of(request)
    purchase = await usecases.purchase_of(request.app[DB], tenant_id, purchase_id)
    found = await refunds.refunds_of(request.app[DB], tenant_id, purchase_id)
    return json_response([RefundOut.of(refund, purchase.quote.currency) for refund in found])


async def get_refund(request: web.Request) -> web.Response:
    tenant_id = tenant_of(identity_of(request))
    purchase_id = purchase_id_of(request)
    purchase = await usecases.purchase_of(request.app[DB], tenant_id, purchase_id)
    refund = await refunds.refund_of(request.app[DB], tenant_id, purchase_id, _refund_id(request))
    return json_response(RefundOut.of(refund, purchase.quote.currency))


async def get_adjustment_note(request: web.Request) -> web.Response:
    tenant_id = tenant_of(identity_of(request))
    timezone = request.app[SETTINGS].invoice_timezone
    refund, pdf = await refunds.adjustment_note_pdf(
        request.app[DB], tenant_id, purchase_id_of(request), _refund_id(request), timezone
    )
    return web.Response(
        body=pdf,
        content_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{refund.adjustment_note_number}.pdf"'},
    )


refund_routes = [
    web.post("/purchases/{purchase_id}/refunds", request_refund),
    web.get("/purchases/{purchase_id}/refunds", list_refunds),
    web.get("/purchases/{purchase_id}/refunds/{refund_id}", get_refund),
    web.get("/purchases/{purchase_id}/refunds/{refund_id}/adjustment-note.pdf", get_adjustment_note),
]
