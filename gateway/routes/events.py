"""Catch-up: a tenant's ledger events after a sequence number, in order, as they were published."""

from __future__ import annotations

from aiohttp import web
from yarl import URL

from common.runtime import DB
from common.web import parse_query
from gateway.resources import LEDGER
from gateway.routes.registry import api, caller_of
from gateway.schemas.events import EventPage, EventsQuery
from gateway.usecases import events


@api.route("GET", "/events", "A tenant's ledger events after a sequence number, in order (a service token, or a "
           "master for their own tenant): what a subscriber missed on the bus", query=EventsQuery, answer=EventPage,
           tags=("events",), errors=(400, 401, 403, 404, 422))
async def events_after(request: web.Request) -> web.Response:
    query = parse_query(request, EventsQuery)
    page = await events.events_after(request.app[DB], request.app[LEDGER], caller_of(request), query)
    headers = {}
    if page.next_after_sequence is not None:
        headers["Link"] = f'<{next_page(request.rel_url, page.next_after_sequence)}>; rel="next"'
    # Unset attributes stay out: each envelope reads as it was published (which leaves out what is null).
    return web.Response(text=page.model_dump_json(exclude_unset=True), content_type="application/json",
                        headers=headers)


def next_page(url: URL, after: int) -> URL:
    """The same request (path, tenant, limit) from where this page ended: a reference relative to this
    request's address, so that it holds behind whatever host and scheme the client reached us by."""
    return url.update_query(after_sequence=str(after))
