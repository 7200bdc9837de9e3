"""Buying credits: quotes, purchases, their tax invoices."""

from __future__ import annotations

from aiohttp import web

from common.runtime import DB
from common.web import idempotency_key, json_response, parse_json, parse_query
from gateway import domain, usecases
from gateway.resources import BILLING
from gateway.routes.registry import api, caller_of, links_to, path_uuid
from gateway.schemas import PurchaseCreated, PurchaseRequest, PurchaseView, Quote, QuoteQuery


@api.route("GET", "/quotes", "Price a quantity of credits", query=QuoteQuery, answer=Quote, tags=("purchases",))
async def quote(request: web.Request) -> web.Response:
    caller = caller_of(request)
    query = parse_query(request, QuoteQuery)
    answer = await request.app[BILLING].call(
        "GET", "/quotes", usecases.identity_for(caller), query={"quantity": query.quantity}
    )
    return json_response(Quote.model_validate(answer))


@api.route("POST", "/purchases", "Start a purchase of credits", body=PurchaseRequest, answer=PurchaseCreated,
           status=201, headers=("Idempotency-Key",), tags=("purchases",),
           links=links_to("get_purchase", "invoice_pdf", "list_refunds", "refund_purchase", id="$response.body#/id"))
async def create_purchase(request: web.Request) -> web.Response:
    caller = caller_of(request)
    key = idempotency_key(request)
    body = await parse_json(request, PurchaseRequest)
    tenant = caller.require_tenant()
    [account] = await usecases.accounts_named(request.app[DB], tenant, body.account_id)
    domain.authorise_purchase(caller.person, account)
    billing = body.billing.model_dump()
    # The tenant's legal name and ABN go on its tax invoices unless the buyer gave others.
    billing["company"] = billing["company"] or tenant.legal_name
    billing["tax_id"] = billing["tax_id"] or tenant.abn
    answer = await request.app[BILLING].call(
        "POST", "/purchases", usecases.identity_for(caller),
        body={"account_id": str(account.id), "account_code": account.code, "quantity": body.quantity,
              "billing": billing},
        headers={"Idempotency-Key": key},
    )
    return json_response(PurchaseCreated.model_validate(answer), status=201)


@api.route("GET", "/purchases/{id}", "A purchase and its status", answer=PurchaseView, tags=("purchases",))
async def get_purchase(request: web.Request) -> web.Response:
    purchase = await _visible_purchase(request)
    return json_response(PurchaseView.model_validate(purchase))


@api.route("GET", "/purchases/{id}/invoice.pdf", "The tax invoice / receipt", content_type="application/pdf",
           tags=("purchases",))
async def invoice_pdf(request: web.Request) -> web.Response:
    purchase = await _visible_purchase(request)
    _, pdf, _ = await request.app[BILLING].raw(
        "GET", f"/purchases/{purchase['id']}/invoice.pdf", usecases.identity_for(caller_of(request))
    )
    return web.Response(
        body=pdf, content_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="tax-invoice-{purchase["invoice_number"]}.pdf"'},
    )


async def _visible_purchase(request: web.Request) -> dict[str, object]:
    """A purchase the caller bought, or one for an account the caller manages."""
    caller = caller_of(request)
    purchase_id = path_uuid(request, "purchase")
    purchase: dict[str, object] = await request.app[BILLING].call(
        "GET", f"/purchases/{purchase_id}", usecases.identity_for(caller)
    )
    await usecases.require_purchase_visible(request.app[DB], caller, purchase)
    return purchase
