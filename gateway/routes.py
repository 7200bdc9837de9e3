"""The public API handlers: parse, authorise, call a use case or a service, shape the answer."""

from __future__ import annotations

import uuid

from aiohttp import web

from common.runtime import DB
from common.web import idempotency_key, json_response, parse_json, parse_query
from gateway import domain, usecases
from gateway.api import Api
from gateway.auth import Caller
from gateway.middleware import CALLER
from gateway.resources import BILLING, LEDGER, REPORTING, SETTINGS
from gateway.schemas import (
    AccountView,
    LogPage,
    LogQuery,
    MeView,
    PurchaseCreated,
    PurchaseRequest,
    PurchaseView,
    Quote,
    QuoteQuery,
    TenantView,
    TokenAnswer,
    TokenRequest,
    UserView,
)

api = Api()


def caller_of(request: web.Request) -> Caller:
    return request[CALLER]


@api.route("POST", "/auth/token", "Sign in", body=TokenRequest, answer=TokenAnswer, public=True, tags=("auth",))
async def sign_in(request: web.Request) -> web.Response:
    body = await parse_json(request, TokenRequest)
    settings = request.app[SETTINGS]
    token = await usecases.sign_in(
        request.app[DB], body.email, body.password, settings.jwt_secret, settings.access_token_ttl
    )
    return json_response(token)


@api.route("GET", "/me", "Who am I", answer=MeView, tags=("directory",))
async def me(request: web.Request) -> web.Response:
    caller = caller_of(request)
    p, t = caller.person, caller.tenant
    return json_response(
        MeView(
            id=p.id, name=p.name, email=p.email, role=p.role, team=p.team, send_sms=p.send_sms,
            manage_credits=p.manage_credits,
            tenant=TenantView(id=t.id, name=t.name, credit_mode=t.credit_mode) if t else None,
        )
    )


@api.route("GET", "/accounts", "The accounts I manage", answer=AccountView, answer_is_list=True,
           tags=("accounts",))
async def list_accounts(request: web.Request) -> web.Response:
    caller = caller_of(request)
    refs = domain.managed_accounts(caller.person, await usecases.tenant_accounts(request.app[DB], caller))
    return json_response(await usecases.account_views(request.app[LEDGER], caller, refs))


@api.route("GET", "/accounts/{id}", "One account", answer=AccountView, tags=("accounts",))
async def get_account(request: web.Request) -> web.Response:
    caller = caller_of(request)
    account = await _account(request, caller)
    if not domain.may_manage(caller.person, account):
        raise domain.AccountForbidden("You may not see this account.")
    [view] = await usecases.account_views(request.app[LEDGER], caller, [account])
    return json_response(view)


@api.route("GET", "/users", "People a transfer or purchase may name", answer=UserView, answer_is_list=True,
           tags=("directory",))
async def list_users(request: web.Request) -> web.Response:
    caller = caller_of(request)
    accounts = await usecases.tenant_accounts(request.app[DB], caller)
    by_owner = {a.owner.id: a.id for a in accounts if a.owner}
    people = await usecases.people(request.app[DB], caller)
    eligible = [
        UserView(id=p.id, name=p.name, account_id=by_owner.get(p.id))
        for p in people
        if p.active and p.send_sms and p.role != "operator" and _may_name(caller, accounts, by_owner.get(p.id))
    ]
    return json_response(eligible)


@api.route("GET", "/quotes", "Price a quantity of credits", query=QuoteQuery, answer=Quote, tags=("purchases",))
async def quote(request: web.Request) -> web.Response:
    caller = caller_of(request)
    query = parse_query(request, QuoteQuery)
    answer = await request.app[BILLING].call(
        "GET", "/quotes", usecases.identity_for(caller), query={"quantity": query.quantity}
    )
    return json_response(Quote.model_validate(answer))


@api.route("POST", "/purchases", "Start a purchase of credits", body=PurchaseRequest, answer=PurchaseCreated,
           status=201, headers=("Idempotency-Key",), tags=("purchases",))
async def create_purchase(request: web.Request) -> web.Response:
    caller = caller_of(request)
    key = idempotency_key(request)
    body = await parse_json(request, PurchaseRequest)
    tenant = caller.require_tenant()
    account = domain.find_account(await usecases.tenant_accounts(request.app[DB], caller), body.account_id)
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


def _may_name(caller: Caller, accounts: list[domain.AccountRef], account_id: uuid.UUID | None) -> bool:
    if account_id is None:  # shared mode: people have no accounts of their own to name
        return True
    return domain.may_transfer_to(caller.person, domain.find_account(accounts, account_id))


@api.route("GET", "/logs", "The last 30 days' log of the accounts I manage", query=LogQuery, answer=LogPage,
           tags=("logs",))
async def logs(request: web.Request) -> web.Response:
    caller = caller_of(request)
    query = parse_query(request, LogQuery, repeatable=("account",))
    accounts = await usecases.tenant_accounts(request.app[DB], caller)
    viewable = usecases.viewable_accounts(caller, accounts, query.account)
    if not viewable:
        return json_response(LogPage(entries=[], next_cursor=None))
    params: list[tuple[str, str]] = [("account", str(a.id)) for a in viewable]
    params += [(k, str(v)) for k, v in query.model_dump(exclude={"account"}, exclude_none=True).items()]
    page = await request.app[REPORTING].call("GET", "/logs", usecases.identity_for(caller), query=params)
    people = await usecases.people(request.app[DB], caller)
    return json_response(usecases.log_page(page, accounts, people))


async def _account(request: web.Request, caller: Caller) -> domain.AccountRef:
    try:
        wanted = uuid.UUID(request.match_info["id"])
    except ValueError:
        raise domain.AccountNotFound("No such account.") from None
    return domain.find_account(await usecases.tenant_accounts(request.app[DB], caller), wanted)


async def _visible_purchase(request: web.Request) -> dict[str, object]:
    """A purchase the caller bought, or one for an account the caller manages."""
    caller = caller_of(request)
    try:
        purchase_id = uuid.UUID(request.match_info["id"])
    except ValueError:
        raise domain.AccountNotFound("No such purchase.") from None
    purchase: dict[str, object] = await request.app[BILLING].call(
        "GET", f"/purchases/{purchase_id}", usecases.identity_for(caller)
    )
    accounts = await usecases.tenant_accounts(request.app[DB], caller)
    account = next((a for a in accounts if str(a.id) == purchase["account_id"]), None)
    bought_it = purchase.get("buyer_user_id") == str(caller.person.id)
    if not bought_it and (account is None or not domain.may_manage(caller.person, account)):
        raise domain.AccountForbidden("You may not see this purchase.")
    return purchase
