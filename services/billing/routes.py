"""Billing's HTTP handlers: parse, call a use case, shape the answer."""

from __future__ import annotations

import time
import uuid

from aiohttp import web

from common.identity import Identity
from common.problems import Forbidden
from common.runtime import DB
from common.web import idempotency_key, identity_of, json_response, parse_json, parse_query
from services.billing import profiles, usecases
from services.billing.account_schemas import BillingProfileOut
from services.billing.domain import PurchaseNotFound, PurchaseOrder, Seller
from services.billing.providers import PaymentProvider
from services.billing.schemas import PurchaseIn, PurchaseOut, QuoteOut, QuoteQuery
from services.billing.settings import BillingSettings

SETTINGS = web.AppKey("settings", BillingSettings)
PROVIDER = web.AppKey("payment_provider", PaymentProvider)


def tenant_of(identity: Identity) -> uuid.UUID:
    if identity.tenant_id is None:
        raise Forbidden("This action is only for a tenant's users.")
    return identity.tenant_id


def purchase_id_of(request: web.Request) -> uuid.UUID:
    # A malformed id names no purchase: the same 404 as an unknown or another tenant's one.
    try:
        return uuid.UUID(request.match_info["purchase_id"])
    except ValueError:
        raise PurchaseNotFound() from None


async def get_quote(request: web.Request) -> web.Response:
    tenant_id = tenant_of(identity_of(request))
    query = parse_query(request, QuoteQuery)
    quote = await usecases.quote_for(request.app[DB], tenant_id, query.quantity)
    return json_response(QuoteOut.of(quote))


async def create_purchase(request: web.Request) -> web.Response:
    identity = identity_of(request)
    tenant_id = tenant_of(identity)
    if identity.user_id is None:
        raise Forbidden("A purchase needs a buyer: call with a user's identity.")
    key = idempotency_key(request)
    body = await parse_json(request, PurchaseIn)
    order = PurchaseOrder(
        tenant_id=tenant_id,
        buyer_user_id=identity.user_id,
        account_id=body.account_id,
        account_code=body.account_code,
        quantity=body.quantity,
        billing=body.billing.details(),
        idempotency_key=key,
    )
    purchase, created = await usecases.start_purchase(request.app[DB], request.app[PROVIDER], order)
    return json_response(PurchaseOut.of(purchase), status=201 if created else 200)


async def get_purchase(request: web.Request) -> web.Response:
    tenant_id = tenant_of(identity_of(request))
    purchase = await usecases.purchase_of(request.app[DB], tenant_id, purchase_id_of(request))
    return json_response(PurchaseOut.of(purchase))


async def get_invoice(request: web.Request) -> web.Response:
    tenant_id = tenant_of(identity_of(request))
    timezone = request.app[SETTINGS].invoice_timezone
    purchase, pdf = await usecases.invoice_pdf(request.app[DB], tenant_id, purchase_id_of(request), timezone)
    return web.Response(
        body=pdf,
        content_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{purchase.invoice_number}.pdf"'},
    )


async def payment_webhook(request: web.Request) -> web.Response:
    """Public: the provider's signature over the exact body is the only authentication."""
    provider = request.app[PROVIDER]
    body = await request.read()
    notice = await provider.read_webhook(request.headers, body, time.time())
    if notice is None:
        return web.json_response({"received": True, "outcome": "ignored"})
    outcome = await usecases.record_payment(request.app[DB], provider, notice, seller_of(request.app[SETTINGS]))
    return web.json_response({"received": True, "outcome": outcome})


async def get_billing_profile(request: web.Request) -> web.Response:
    """The caller's last billing details and saved card, offered on their next purchase."""
    identity = identity_of(request)
    tenant_id = tenant_of(identity)
    if identity.user_id is None:
        raise Forbidden("Billing details belong to a person: call with a user's identity.")
    async with request.app[DB].acquire() as conn:
        details = await profiles.billing_details_of(conn, tenant_id, identity.user_id)
        card = await profiles.saved_card_of(conn, tenant_id, identity.user_id, request.app[PROVIDER].name)
    return json_response(BillingProfileOut.of(details, card))


def seller_of(settings: BillingSettings) -> Seller:
    return Seller(settings.seller_name, settings.seller_abn, settings.seller_address)


def billing_routes(provider_name: str) -> list[web.RouteDef]:
    return [
        web.get("/quotes", get_quote),
        web.post("/purchases", create_purchase),
        web.get("/purchases/{purchase_id}", get_purchase),
        web.get("/purchases/{purchase_id}/invoice.pdf", get_invoice),
        web.post(f"/webhooks/{provider_name}", payment_webhook),
        web.get("/billing-profile", get_billing_profile),
    ]
