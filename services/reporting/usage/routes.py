"""The usage chart's HTTP handlers: GET /usage (the figures) and GET /usage.svg (the picture)."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from common.contracts.reporting import Usage, UsageDay, UsageQuery
from common.problems import Forbidden
from common.web import identity_of, json_response, parse_query
from services.reporting.directory.domain import Directory
from services.reporting.logs import domain as log_domain
from services.reporting.reads import READS
from services.reporting.usage import chart, usecases
from services.reporting.usage.domain import DailyUsage

# People's credit history: no shared cache may keep a copy.
_PRIVATE = {"Cache-Control": "no-store"}

routes = web.RouteTableDef()


async def _usage(request: web.Request) -> tuple[Directory, list[DailyUsage]]:
    query = parse_query(request, UsageQuery, repeatable=("account",))
    tenant_id = identity_of(request).tenant_id
    if tenant_id is None:
        raise Forbidden("Usage belongs to a tenant, and this caller has none.")
    now = datetime.now(UTC)
    # The same selection rules as the log's (accounts or a scope, 1 to 30 days); the tenant from the token.
    selected = log_domain.selection(
        tenant_id=tenant_id, scope=query.scope, account_ids=query.account, days=query.days,
        kind=None, direction=None, now=now,
    )
    return await usecases.usage_of(request.app[READS], selected, query.days, now)


@routes.get("/usage")
async def get_usage(request: web.Request) -> web.Response:
    directory, days = await _usage(request)
    answer = Usage(
        timezone=directory.zone_name,
        days=[
            UsageDay(date=d.day, credits_in=d.credits_in, credits_out=d.credits_out,
                     credits_in_purchased=d.purchased_in, credits_in_promotional=d.promotional_in,
                     credits_expired=d.expired)
            for d in days
        ],
    )
    response = json_response(answer)
    response.headers.update(_PRIVATE)
    return response


@routes.get("/usage.svg")
async def get_usage_svg(request: web.Request) -> web.Response:
    _, days = await _usage(request)
    return web.Response(text=chart.usage_svg(days), content_type="image/svg+xml", charset="utf-8", headers=_PRIVATE)
