"""Auto top-up of an account, and the caller's saved billing details and card that pay for it."""

from __future__ import annotations

from aiohttp import web

from common.runtime import DB
from common.web import json_response, parse_json
from gateway import domain, usecases
from gateway.billing_schemas import AutoTopUpRequest, AutoTopUpView, BillingProfileView
from gateway.domain import AccountRef
from gateway.resources import BILLING
from gateway.routes.registry import api, caller_of, path_uuid


async def _account(request: web.Request) -> AccountRef:
    tenant = caller_of(request).require_tenant()
    [account] = await usecases.accounts_named(request.app[DB], tenant, path_uuid(request, "account"))
    return account


@api.route("PUT", "/accounts/{id}/auto-top-up", "Buy credits automatically when the account runs low",
           body=AutoTopUpRequest, answer=AutoTopUpView, tags=("accounts",))
async def set_auto_top_up(request: web.Request) -> web.Response:
    caller = caller_of(request)
    body = await parse_json(request, AutoTopUpRequest)
    account = await _account(request)
    # Whoever may buy credits for the account may have them bought automatically, with their own card.
    domain.authorise_purchase(caller.person, account)
    answer = await request.app[BILLING].call(
        "PUT", f"/accounts/{account.id}/auto-top-up", usecases.identity_for(caller),
        body={"account_code": account.code, **body.model_dump()},
    )
    return json_response(AutoTopUpView.model_validate(answer))


@api.route("GET", "/accounts/{id}/auto-top-up", "The account's auto top-up", answer=AutoTopUpView,
           tags=("accounts",))
async def get_auto_top_up(request: web.Request) -> web.Response:
    caller = caller_of(request)
    account = await _account(request)
    if not (domain.may_manage(caller.person, account) or domain.may_purchase_for(caller.person, account)):
        raise domain.AccountForbidden("You may not see this account.")
    answer = await request.app[BILLING].call("GET", f"/accounts/{account.id}/auto-top-up",
                                             usecases.identity_for(caller))
    return json_response(AutoTopUpView.model_validate(answer))


@api.route("DELETE", "/accounts/{id}/auto-top-up", "Turn the account's auto top-up off", answer=AutoTopUpView,
           tags=("accounts",))
async def turn_off_auto_top_up(request: web.Request) -> web.Response:
    caller = caller_of(request)
    account = await _account(request)
    if not domain.may_purchase_for(caller.person, account):
        raise domain.AccountForbidden("You may not change this account's auto top-up.")
    answer = await request.app[BILLING].call("DELETE", f"/accounts/{account.id}/auto-top-up",
                                             usecases.identity_for(caller))
    return json_response(AutoTopUpView.model_validate(answer))


@api.route("GET", "/me/billing-details", "My last billing details and saved card, to offer on the next purchase",
           answer=BillingProfileView, tags=("purchases",))
async def billing_details(request: web.Request) -> web.Response:
    answer = await request.app[BILLING].call("GET", "/billing-profile", usecases.identity_for(caller_of(request)))
    return json_response(BillingProfileView.model_validate(answer))
