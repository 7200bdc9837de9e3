"""What clients read back: a transfer, and keyset pages of transfers and purchases (newest first,
filtered by account and time), each limited to what touches the accounts the caller manages."""

from __future__ import annotations

from aiohttp import web

from common.runtime import DB
from common.web import json_response, parse_query, path_uuid
from gateway.resources import BILLING, LEDGER
from gateway.routes.registry import api, caller_of
from gateway.schemas.history import HistoryQuery, PurchasePage, TransferPage, TransferView
from gateway.usecases import purchases, transfers

# A bad cursor, limit or time is malformed (400); naming an account the caller does not manage is
# answered as if it did not exist (404).
_PAGE_ERRORS = (400, 401, 403, 404)


@api.route("GET", "/transfers/{id}", "A transfer touching an account I manage", answer=TransferView,
           tags=("accounts",), errors=(401, 403, 404))
async def get_transfer(request: web.Request) -> web.Response:
    transfer_id = path_uuid(request, not_found=lambda: transfers.TransferNotFound("There is no such transfer."))
    view = await transfers.read_transfer(request.app[DB], request.app[LEDGER], caller_of(request), transfer_id)
    return json_response(view)


@api.route("GET", "/transfers", "Transfers touching the accounts I manage, newest first", query=HistoryQuery,
           answer=TransferPage, tags=("accounts",), errors=_PAGE_ERRORS)
async def list_transfers(request: web.Request) -> web.Response:
    query = parse_query(request, HistoryQuery, repeatable=("account",))
    page = await transfers.read_transfers(request.app[DB], request.app[LEDGER], caller_of(request), query)
    return json_response(page)


@api.route("GET", "/purchases", "Purchases for the accounts I manage, newest first", query=HistoryQuery,
           answer=PurchasePage, tags=("purchases",), errors=_PAGE_ERRORS)
async def list_purchases(request: web.Request) -> web.Response:
    query = parse_query(request, HistoryQuery, repeatable=("account",))
    page = await purchases.read_purchases(request.app[DB], request.app[BILLING], caller_of(request), query)
    return json_response(page)
