"""`POST /transfers`, and transfers read back: `GET /transfers/{id}` and `GET /transfers` (a page)."""

from __future__ import annotations

from aiohttp import web

from common.contracts import ledger as contract
from common.runtime import DB
from common.web import idempotency_key, identity_of, json_response, parse_json, parse_query, path_uuid
from services.ledger.resources import GROUP_COMMIT, SETTINGS
from services.ledger.transfers import domain, usecases
from services.ledger.transfers.schemas import transfer_answer, transfer_page, transfer_record

routes = web.RouteTableDef()


@routes.post("/transfers")
async def transfer(request: web.Request) -> web.Response:
    key = idempotency_key(request)
    body = await parse_json(request, contract.TransferOrder)
    identity = identity_of(request)
    order = usecases.TransferOrder(body.from_code, body.to_code, body.quantity, body.accept_terms, body.note,
                                   body.terms_version)
    posted = await usecases.transfer(request.app[DB], identity, order, key, request.app[SETTINGS].max_transfer_quantity,
                                     request.app.get(GROUP_COMMIT))
    answer = transfer_answer(identity.require_tenant(), posted, body.from_code, body.to_code)
    return json_response(answer, status=201)


@routes.get("/transfers/{id}")
async def read_transfer(request: web.Request) -> web.Response:
    transfer_id = path_uuid(request, not_found=lambda: domain.TransferNotFound("There is no such transfer."))
    tenant_id = identity_of(request).require_tenant()
    return json_response(transfer_record(await usecases.read_transfer(request.app[DB], tenant_id, transfer_id)))


@routes.get("/transfers")
async def list_transfers(request: web.Request) -> web.Response:
    query = parse_query(request, contract.TransfersQuery, repeatable=("account",))
    tenant_id = identity_of(request).require_tenant()
    return json_response(transfer_page(await usecases.read_transfers(request.app[DB], tenant_id, query)))
