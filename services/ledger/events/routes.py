"""`GET /events`: the caller's tenant's ledger events after a sequence number, in order."""

from __future__ import annotations

from aiohttp import web

from common.contracts.ledger import EventsQuery
from common.problems import NotFound
from common.runtime import DB
from common.web import identity_of, json_response, parse_query
from services.ledger.events import usecases

routes = web.RouteTableDef()


@routes.get("/events")
async def events_after(request: web.Request) -> web.Response:
    query = parse_query(request, EventsQuery)
    identity = identity_of(request)
    if identity.tenant_id is None and identity.role in ("service", "operator") and query.tenant_id is not None:
        tenant_id = query.tenant_id
    elif query.tenant_id in (None, identity.tenant_id):
        tenant_id = identity.require_tenant()
    else:
        raise NotFound("No such tenant.")  # another tenant's events do not exist for this caller
    return json_response(await usecases.read(request.app[DB], tenant_id, query.after_sequence, query.limit))
