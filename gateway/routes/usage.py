"""Credits in and out per day for the last 30 days, of the accounts I manage: the figures (JSON) and the
chart (SVG, drawn by reporting so the web app, the API and the printed report show the same picture)."""

from __future__ import annotations

from aiohttp import web

from common.runtime import DB
from common.web import json_response, parse_query
from gateway.resources import REPORTING
from gateway.routes.registry import api, caller_of
from gateway.schemas.usage import Usage, UsageQuery
from gateway.usecases import usage as usage_usecases

# Naming an account the caller may not view is answered as if it did not exist (404); a range is a rule (422).
_USAGE_ERRORS = (400, 401, 403, 404, 422)
# The chart is a picture of numbers only: no script, no outside resource, whoever opens it directly.
CHART_POLICY = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'"
_PRIVATE = {"Cache-Control": "no-store"}


@api.route("GET", "/usage", "Credits in and out per day, last 30 days, of the accounts I manage", query=UsageQuery,
           answer=Usage, tags=("logs",), errors=_USAGE_ERRORS)
async def usage(request: web.Request) -> web.Response:
    query = parse_query(request, UsageQuery, repeatable=("account",))
    response = json_response(await usage_usecases.usage(request.app[DB], request.app[REPORTING], caller_of(request),
                                                        query))
    response.headers.update(_PRIVATE)
    return response


@api.route("GET", "/usage.svg", "The same figures as a bar chart (SVG, with a title and description)",
           query=UsageQuery, content_type="image/svg+xml", tags=("logs",), errors=_USAGE_ERRORS)
async def usage_svg(request: web.Request) -> web.Response:
    query = parse_query(request, UsageQuery, repeatable=("account",))
    body = await usage_usecases.usage_svg(request.app[DB], request.app[REPORTING], caller_of(request), query)
    return web.Response(body=body, content_type="image/svg+xml", charset="utf-8",
                        headers={"Content-Security-Policy": CHART_POLICY, **_PRIVATE})
