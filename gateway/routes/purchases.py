"""Buying credits: quotes, purchases, their tax invoices."""

from __future__ import annotations

from aiohttp import web

from common.runtime import DB
from common.web import idempotency_key, json_response, parse_json, parse_query, path_uuid
from gateway.resources import BILLING
from gateway.routes.registry import api, caller_of, links_to, no_such
from gateway.schemas.credits import PurchaseCreated, PurchaseRequest, PurchaseView, Quote, QuoteQuery
from gateway.usecases import purchases
from gateway.web.idempotency import idempotent


@api.route("GET", "/quotes", "Price a quantity of credits", query=QuoteQuery, answer=Quote, tags=("purchases",))
async def quote(request: web.Request) -> web.Response:
    caller = caller_of(request)
    query = parse_query(request, QuoteQuery)
    return json_response(await purchases.quote(request.app[BILLING], caller, query.quantity))


@api.route("POST", "/purchases", "Start a purchase of credits", body=PurchaseRequest, answer=PurchaseCreated,
           status=201, headers=("Idempotency-Key",), tags=("purchases",), errors=(400, 401, 403, 404, 409, 422, 429),
           links=links_to("get_purchase", "invoice_pdf", "list_refunds", "refund_purchase", id="$response.body#/id"))
@idempotent
async def create_purchase(request: web.Request) -> web.Response:
    caller = caller_of(request)
    key = idempotency_key(request)
    body = await parse_json(request, PurchaseRequest)
    created = await purchases.create(request.app[DB], request.app[BILLING], caller, body, key)
    return json_response(created, status=201)


@api.route("GET", "/purchases/{id}", "A purchase and its status", answer=PurchaseView, tags=("purchases",))
async def get_purchase(request: web.Request) -> web.Response:
    purchase_id = path_uuid(request, not_found=no_such("purchase"))
    purchase = await purchases.visible_purchase(request.app[DB], request.app[BILLING], caller_of(request), purchase_id)
    return json_response(PurchaseView.model_validate(purchase, from_attributes=True))


@api.route("GET", "/purchases/{id}/invoice.pdf", "The tax invoice / receipt", content_type="application/pdf",
           tags=("purchases",))
async def invoice_pdf(request: web.Request) -> web.Response:
    purchase_id = path_uuid(request, not_found=no_such("purchase"))
    purchase, pdf = await purchases.invoice(request.app[DB], request.app[BILLING], caller_of(request), purchase_id)
    return web.Response(
        body=pdf, content_type="application/pdf",
        # Named by its number (INV-ACME-000012.pdf), as an office files its tax invoices.
        headers={"Content-Disposition": f'attachment; filename="{purchase.invoice_number}.pdf"'},
    )
