"""Purchases over HTTP: a buyer asks what a quantity costs, starts a purchase (with its checkout) and
follows it to credited; a page of the tenant's purchases, newest first."""

from __future__ import annotations

from aiohttp import web

from common.contracts import billing as contract
from common.problems import Forbidden
from common.runtime import DB
from common.web import idempotency_key, identity_of, json_response, parse_json, parse_query, path_uuid
from services.billing.price_lists import usecases as price_lists
from services.billing.price_lists.schemas import quote_answer
from services.billing.purchases import usecases
from services.billing.purchases.domain import PurchaseNotFound, PurchaseOrder, tenant_of
from services.billing.purchases.schemas import billing_details, purchase_answer, purchase_page
from services.billing.resources import PROVIDER


async def get_quote(request: web.Request) -> web.Response:
    tenant_id = tenant_of(identity_of(request))
    query = parse_query(request, contract.QuoteQuery)
    quote = await price_lists.quote_for(request.app[DB], tenant_id, query.quantity)
    return json_response(quote_answer(quote))


async def create_purchase(request: web.Request) -> web.Response:
    identity = identity_of(request)
    tenant_id = tenant_of(identity)
    if identity.user_id is None:
        raise Forbidden("A purchase needs a buyer: call with a user's identity.")
    key = idempotency_key(request)
    body = await parse_json(request, contract.PurchaseOrder)
    order = PurchaseOrder(
        tenant_id=tenant_id,
        buyer_user_id=identity.user_id,
        account_id=body.account_id,
        account_code=body.account_code,
        quantity=body.quantity,
        billing=billing_details(body.billing),
        idempotency_key=key,
    )
    purchase, created = await usecases.start_purchase(request.app[DB], request.app[PROVIDER], order)
    return json_response(purchase_answer(purchase, creation=True), status=201 if created else 200)


async def get_purchase(request: web.Request) -> web.Response:
    tenant_id = tenant_of(identity_of(request))
    # A malformed id names no purchase: the same 404 as an unknown or another tenant's one.
    purchase_id = path_uuid(request, "purchase_id", PurchaseNotFound)
    purchase = await usecases.purchase_of(request.app[DB], tenant_id, purchase_id)
    return json_response(purchase_answer(purchase))


async def list_purchases(request: web.Request) -> web.Response:
    tenant_id = tenant_of(identity_of(request))
    query = parse_query(request, contract.PurchasesQuery, repeatable=("account",))
    return json_response(purchase_page(await usecases.purchases_page(request.app[DB], tenant_id, query)))


routes = [
    web.get("/quotes", get_quote),
    web.post("/purchases", create_purchase),
    web.get("/purchases", list_purchases),
    web.get("/purchases/{purchase_id}", get_purchase),
]
