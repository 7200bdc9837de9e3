"""`GET /transactions`: the journal of posted transactions."""

from __future__ import annotations

from aiohttp import web

from common.runtime import DB
from common.web import identity_of, parse_query
from services.ledger.postings import domain, usecases
from services.ledger.postings.schemas import JournalQuery

routes = web.RouteTableDef()


@routes.get("/transactions")
async def journal(request: web.Request) -> web.Response:
    """Every posted transaction in sequence order, as announced in `ledger.transaction.posted`: what a
    read model (the reporting log) is rebuilt from. Operators and internal services only."""
    domain.require_journal_reader(identity_of(request))
    query = parse_query(request, JournalQuery)
    page = await usecases.read_journal(request.app[DB], query.after_seq, query.limit)
    last = page[-1]["seq"] if page else None
    return web.json_response({"transactions": page, "next_after_seq": last if len(page) == query.limit else None})
