"""`GET /accounts`: balances of a tenant's user-facing accounts, now or as of a moment."""

from __future__ import annotations

from aiohttp import web

from common.contracts.ledger import AccountsQuery
from common.runtime import DB
from common.web import identity_of, json_response, parse_query
from services.ledger.accounts import usecases
from services.ledger.accounts.schemas import balance_answer
from services.ledger.lots.usecases import expiring_soon, holdings_of

routes = web.RouteTableDef()


@routes.get("/accounts")
async def list_accounts(request: web.Request) -> web.Response:
    query = parse_query(request, AccountsQuery, repeatable=("code",))
    tenant_id = identity_of(request).require_tenant()
    accounts = await usecases.account_balances(request.app[DB], tenant_id, query.code)
    views = [balance_answer(a) for a in accounts]
    if query.as_of is None:
        lots = await holdings_of(request.app[DB], tenant_id, query.code)
        for view in views:
            view.expiring_within_30_days = expiring_soon(lots[view.code])
    else:
        # History is the postings' record of the balance; reservations are not kept per moment.
        for view in views:
            view.balance = await usecases.balance_as_of(request.app[DB], tenant_id, view.code, query.as_of)
            view.held, view.available = 0, view.balance
    return json_response(views)
