"""`GET /accounts/lots`: an account's credits by lot; `POST /tenants/{id}/grants`: promotional credits."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel

from common.contracts.ledger import GrantOrder, LotView, UserFacingCode
from common.runtime import DB
from common.web import idempotency_key, identity_of, json_response, parse_json, parse_query, path_uuid
from services.ledger.lots import usecases
from services.ledger.postings.domain import AccountNotFound
from services.ledger.resources import SETTINGS

routes = web.RouteTableDef()


class LotsQuery(BaseModel):
    code: UserFacingCode


@routes.get("/accounts/lots")
async def account_lots(request: web.Request) -> web.Response:
    query = parse_query(request, LotsQuery)
    tenant_id = identity_of(request).require_tenant()
    held = (await usecases.holdings_of(request.app[DB], tenant_id, [query.code]))[query.code]
    return json_response([
        LotView(id=h.lot.id, origin=h.lot.origin, paid=h.lot.paid, reference=h.lot.reference,  # type: ignore[arg-type]
                granted_at=h.lot.granted_at, expires_at=h.lot.expires_at, remaining=h.remaining, reserved=h.reserved)
        for h in held
    ])


@routes.post("/tenants/{id}/grants")
async def grant(request: web.Request) -> web.Response:
    tenant_id = path_uuid(request, not_found=lambda: AccountNotFound("No such tenant."))
    key = idempotency_key(request)
    order = await parse_json(request, GrantOrder)
    granted = await usecases.grant(request.app[DB], identity_of(request), tenant_id, order, key,
                                   request.app[SETTINGS].max_transfer_quantity)
    return json_response(granted, status=201)
