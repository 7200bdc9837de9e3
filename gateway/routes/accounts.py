"""Accounts, transfers between them, and their log."""

from __future__ import annotations

from aiohttp import web

from common.runtime import DB
from common.web import idempotency_key, json_response, parse_json, parse_query, path_uuid
from gateway.resources import LEDGER, OWNER_CACHE
from gateway.routes.registry import NOT_MODIFIED, api, caller_of, links_to, no_such
from gateway.schemas.credits import AccountQuery, AccountView, LotView, TransferAnswer, TransferRequest
from gateway.usecases import accounts, lots, transfers
from gateway.web.caching import with_etag
from gateway.web.idempotency import idempotent


@api.route("GET", "/accounts", "The accounts I manage", answer=AccountView, answer_is_list=True,
           tags=("accounts",), links=links_to("get_account", "get_auto_top_up", "set_auto_top_up",
                                              "turn_off_auto_top_up", id="$response.body#/0/id"),
           optional_headers=("If-None-Match",), also=NOT_MODIFIED, errors=(401, 403))
@with_etag
async def list_accounts(request: web.Request) -> web.Response:
    return json_response(await accounts.managed_accounts(request.app[DB], request.app[LEDGER], caller_of(request)))


@api.route("GET", "/accounts/{id}", "One account; with `as_of`, its balance at that moment", query=AccountQuery,
           answer=AccountView, tags=("accounts",), optional_headers=("If-None-Match",), also=NOT_MODIFIED,
           errors=(400, 401, 403, 404, 422))
@with_etag
async def get_account(request: web.Request) -> web.Response:
    caller = caller_of(request)
    query = parse_query(request, AccountQuery)
    tenant = caller.require_tenant()
    wanted = path_uuid(request, not_found=no_such("account"))
    view = await accounts.managed_account(request.app[DB], request.app[LEDGER], caller, tenant, wanted, query.as_of)
    return json_response(view)


@api.route("GET", "/accounts/{id}/lots", "An account's credits by lot, in the order they are spent",
           answer=LotView, answer_is_list=True, tags=("accounts",), errors=(401, 403, 404))
async def get_account_lots(request: web.Request) -> web.Response:
    caller = caller_of(request)
    wanted = path_uuid(request, not_found=no_such("account"))
    held = await lots.account_lots(request.app[DB], request.app[LEDGER], caller, caller.require_tenant(), wanted)
    return json_response(held)


@api.route("POST", "/transfers", "Transfer credits between two accounts", body=TransferRequest,
           answer=TransferAnswer, status=201, headers=("Idempotency-Key",), tags=("accounts",),
           errors=(400, 401, 403, 404, 409, 422, 429),
           links=links_to("get_account", id="$response.body#/from/id"))
@idempotent
async def transfer(request: web.Request) -> web.Response:
    caller = caller_of(request)
    key = idempotency_key(request)
    body = await parse_json(request, TransferRequest)
    answer = await transfers.transfer(request.app[DB], request.app[LEDGER], caller, body, key, request.app[OWNER_CACHE])
    return json_response(answer, status=201)
