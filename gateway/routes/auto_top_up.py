"""Auto top-up of an account, and the caller's saved billing details and card that pay for it."""

from __future__ import annotations

import uuid

from aiohttp import web

from common.runtime import DB
from common.web import json_response, parse_json, path_uuid
from gateway.directory.domain import Tenant
from gateway.resources import BILLING
from gateway.routes.registry import api, caller_of, no_such
from gateway.schemas.billing import AutoTopUpRequest, AutoTopUpView, BillingProfileView
from gateway.usecases import auto_top_up


def _account(request: web.Request) -> tuple[Tenant, uuid.UUID]:
    """The caller's tenant and the account the path names (a tenant's users only, before the id)."""
    tenant = caller_of(request).require_tenant()
    return tenant, path_uuid(request, not_found=no_such("account"))


@api.route("PUT", "/accounts/{id}/auto-top-up", "Buy credits automatically when the account runs low",
           body=AutoTopUpRequest, answer=AutoTopUpView, tags=("accounts",))
async def set_auto_top_up(request: web.Request) -> web.Response:
    caller = caller_of(request)
    body = await parse_json(request, AutoTopUpRequest)
    tenant, wanted = _account(request)
    view = await auto_top_up.set_auto_top_up(request.app[DB], request.app[BILLING], caller, tenant, wanted, body)
    return json_response(view)


@api.route("GET", "/accounts/{id}/auto-top-up", "The account's auto top-up", answer=AutoTopUpView,
           tags=("accounts",))
async def get_auto_top_up(request: web.Request) -> web.Response:
    tenant, wanted = _account(request)
    view = await auto_top_up.auto_top_up(request.app[DB], request.app[BILLING], caller_of(request), tenant, wanted)
    return json_response(view)


@api.route("DELETE", "/accounts/{id}/auto-top-up", "Turn the account's auto top-up off", answer=AutoTopUpView,
           tags=("accounts",))
async def turn_off_auto_top_up(request: web.Request) -> web.Response:
    tenant, wanted = _account(request)
    view = await auto_top_up.turn_off_auto_top_up(request.app[DB], request.app[BILLING], caller_of(request),
                                                  tenant, wanted)
    return json_response(view)


@api.route("GET", "/me/billing-details", "My last billing details and saved card, to offer on the next purchase",
           answer=BillingProfileView, tags=("purchases",))
async def billing_details(request: web.Request) -> web.Response:
    return json_response(await auto_top_up.billing_details(request.app[BILLING], caller_of(request)))
