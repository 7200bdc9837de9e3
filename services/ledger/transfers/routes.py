"""`POST /transfers`."""

from __future__ import annotations

from aiohttp import web

from common.contracts import ledger as contract
from common.runtime import DB
from common.web import idempotency_key, identity_of, json_response, parse_json
from services.ledger.resources import GROUP_COMMIT, SETTINGS
from services.ledger.transfers import usecases
from services.ledger.transfers.schemas import transfer_answer

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
