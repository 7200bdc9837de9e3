"""Accounts, transfers between them, and their log."""

from __future__ import annotations

from aiohttp import web

from common.accounts import account_id
from common.runtime import DB
from common.web import idempotency_key, json_response, parse_json, parse_query
from gateway import domain, terms, usecases
from gateway.resources import LEDGER
from gateway.routes.registry import api, caller_of, links_to, path_uuid
from gateway.schemas import AccountQuery, AccountView, TransferAnswer, TransferRequest


@api.route("GET", "/accounts", "The accounts I manage", answer=AccountView, answer_is_list=True,
           tags=("accounts",), links=links_to("get_account", "get_auto_top_up", "set_auto_top_up",
                                              "turn_off_auto_top_up", id="$response.body#/0/id"))
async def list_accounts(request: web.Request) -> web.Response:
    caller = caller_of(request)
    refs = domain.managed_accounts(caller.person, await usecases.tenant_accounts(request.app[DB], caller))
    return json_response(await usecases.account_views(request.app[LEDGER], caller, refs))


@api.route("GET", "/accounts/{id}", "One account; with `as_of`, its balance at that moment", query=AccountQuery,
           answer=AccountView, tags=("accounts",))
async def get_account(request: web.Request) -> web.Response:
    caller = caller_of(request)
    query = parse_query(request, AccountQuery)
    [account] = await usecases.accounts_named(request.app[DB], caller.require_tenant(), path_uuid(request, "account"))
    if not domain.may_manage(caller.person, account):
        raise domain.AccountForbidden("You may not see this account.")
    [view] = await usecases.account_views(request.app[LEDGER], caller, [account], as_of=query.as_of)
    return json_response(view)


@api.route("POST", "/transfers", "Transfer credits between two accounts", body=TransferRequest,
           answer=TransferAnswer, status=201, headers=("Idempotency-Key",), tags=("accounts",),
           links=links_to("get_account", id="$response.body#/from/id"))
async def transfer(request: web.Request) -> web.Response:
    caller = caller_of(request)
    key = idempotency_key(request)
    body = await parse_json(request, TransferRequest)
    tenant = caller.require_tenant()
    source, target = await usecases.accounts_named(request.app[DB], tenant, body.from_account, body.to_account)
    domain.authorise_transfer(caller.person, source, target)
    answer = await request.app[LEDGER].call(
        "POST", "/transfers", usecases.identity_for(caller), headers={"Idempotency-Key": key},
        body={"from_code": source.code, "to_code": target.code, "quantity": body.quantity,
              "accept_terms": body.accept_terms, "note": body.note,
              "terms_version": terms.VERSION},
    )
    return json_response(TransferAnswer.model_validate({
        "id": answer["id"],
        "from": {"id": account_id(tenant.id, source.code), "balance": answer["from"]["balance"]},
        "to": {"id": account_id(tenant.id, target.code), "balance": answer["to"]["balance"]},
        "consistency_token": answer["consistency_token"],
    }), status=201)
