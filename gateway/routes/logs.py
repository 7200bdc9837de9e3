"""The last 30 days' log of the accounts a caller manages: as JSON pages, a CSV download and a
print-ready report. Reporting answers from its read model; the gateway decides whose log it may read."""

from __future__ import annotations

from aiohttp import web

from common.problems import NotFound
from common.runtime import DB
from common.web import json_response, parse_query
from gateway import usecases
from gateway.resources import REPORTING
from gateway.routes.registry import api, caller_of
from gateway.schemas import LogPage, LogQuery, ReportQuery

# The report is a standalone page meant for printing: its own inline styles, never a script.
REPORT_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"
_PASSED_ON = ("Content-Type", "Content-Disposition", "Cache-Control", "X-Log-Stale")


async def _scope(request: web.Request, query: LogQuery) -> list[tuple[str, str]] | None:
    """Reporting's query for this caller, or None when they manage no account at all (a user of a
    tenant in shared mode)."""
    scope = await usecases.log_scope(request.app[DB], caller_of(request), query.account)
    if not scope:
        return None
    return scope + [(k, str(v)) for k, v in query.model_dump(exclude={"account"}, exclude_none=True).items()]


@api.route("GET", "/logs", "The last 30 days' log of the accounts I manage", query=LogQuery, answer=LogPage,
           tags=("logs",))
async def logs(request: web.Request) -> web.Response:
    caller = caller_of(request)
    query = parse_query(request, LogQuery, repeatable=("account",))
    params = await _scope(request, query)
    if params is None:
        return json_response(LogPage(entries=[], next_cursor=None))
    page = await request.app[REPORTING].call("GET", "/logs", usecases.identity_for(caller), query=params)
    return json_response(await usecases.named_log_page(request.app[DB], caller.require_tenant(), page))


@api.route("GET", "/logs.csv", "The same log as a CSV download (every matching row)", query=LogQuery,
           content_type="text/csv", tags=("logs",))
async def logs_csv(request: web.Request) -> web.StreamResponse:
    return await _relay(request, "/logs.csv")


@api.route("GET", "/logs/report", "The same log as a print-ready report (HTML, or PDF with format=pdf)",
           query=ReportQuery, content_type="text/html", tags=("logs",))
async def logs_report(request: web.Request) -> web.StreamResponse:
    return await _relay(request, "/logs/report", report=True)


async def _relay(request: web.Request, path: str, report: bool = False) -> web.StreamResponse:
    """Stream reporting's answer through, chunk by chunk: a million-row CSV never sits in memory."""
    caller = caller_of(request)
    query = parse_query(request, ReportQuery if report else LogQuery, repeatable=("account",))
    params = await _scope(request, query)
    if params is None:
        raise NotFound("You manage no account, so there is no log to show.")
    async with request.app[REPORTING].stream(path, usecases.identity_for(caller), query=params) as upstream:
        response = web.StreamResponse(
            status=upstream.status, headers={h: upstream.headers[h] for h in _PASSED_ON if h in upstream.headers}
        )
        if report:
            response.headers["Content-Security-Policy"] = REPORT_POLICY
        await response.prepare(request)
        async for chunk in upstream.content.iter_chunked(64 * 1024):
            await response.write(chunk)
        await response.write_eof()
        return response
