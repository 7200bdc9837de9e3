"""Refund endpoints: a master asks, and anyone who may see the purchase follows it (the gateway
decides who that is). The adjustment note, once the money has gone back, is an invoices document."""

from __future__ import annotations

import uuid

from aiohttp import web

from common.contracts.billing import RefundRequest
from common.runtime import DB
from common.web import identity_of, json_response, parse_json, path_uuid
from services.billing.purchases import usecases as purchases
from services.billing.purchases.domain import PurchaseNotFound, tenant_of
from services.billing.refunds import usecases
from services.billing.refunds.domain import RefundNotFound
from services.billing.refunds.schemas import refund_answer


def _purchase_id(request: web.Request) -> uuid.UUID:
    # A malformed id names no purchase: the same 404 as an unknown or another tenant's one.
    return path_uuid(request, "purchase_id", PurchaseNotFound)


async def request_refund(request: web.Request) -> web.Response:
    identity = identity_of(request)
    purchase_id = _purchase_id(request)
    body = await parse_json(request, RefundRequest)
    # Without a key every request is a new refund; with one, a retry answers the first.
    key = request.headers.get("Idempotency-Key", "").strip()[:200] or f"refund:{uuid.uuid4()}"
    refund, created = await usecases.request_refund(request.app[DB], identity, purchase_id, body.quantity, key)
    purchase = await purchases.purchase_of(request.app[DB], refund.tenant_id, purchase_id)
    return json_response(refund_answer(refund, purchase.quote.currency), status=201 if created else 200)


async def list_refunds(request: web.Request) -> web.Response:
    tenant_id = tenant_of(identity_of(request))
    purchase_id = _purchase_id(request)
    purchase = await purchases.purchase_of(request.app[DB], tenant_id, purchase_id)
    found = await usecases.refunds_of(request.app[DB], tenant_id, purchase_id)
    return json_response([refund_answer(refund, purchase.quote.currency) for refund in found])


async def get_refund(request: web.Request) -> web.Response:
    tenant_id = tenant_of(identity_of(request))
    purchase_id = _purchase_id(request)
    purchase = await purchases.purchase_of(request.app[DB], tenant_id, purchase_id)
    refund_id = path_uuid(request, "refund_id", RefundNotFound)
    refund = await usecases.refund_of(request.app[DB], tenant_id, purchase_id, refund_id)
    return json_response(refund_answer(refund, purchase.quote.currency))


routes = [
    web.post("/purchases/{purchase_id}/refunds", request_refund),
    web.get("/purchases/{purchase_id}/refunds", list_refunds),
    web.get("/purchases/{purchase_id}/refunds/{refund_id}", get_refund),
]
