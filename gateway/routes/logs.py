"""The last 30 days' log of the accounts a caller manages: as JSON pages, a CSV download and a
print-ready report. Reporting answers from its read model; the gateway decides whose log it may read."""

from __future__ import annotations

from typing import Literal

from aiohttp import web

from common.runtime import DB
from common.web import json_response, parse_query
from gateway.resources import REPORTING
from gateway.routes.registry import api, caller_of
from gateway.schemas.credits import LogPage, LogPageQuery, LogQuery, ReportQuery
from gateway.usecases import logs as log_usecases

# The report is a standalone page meant for printing: its own inline styles, never a script.
REPORT_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"
_PASSED_ON = ("Content-Type", "Content-Disposition", "Cache-Control", "X-Log-Stale")
# Naming an account the caller may not view is answered as if it did not exist (404); a range or a report
# too large is a rule (422).
_LOG_ERRORS = (400, 401, 403, 404, 422)


@api.route("GET", "/logs", "The last 30 days' log of the accounts I manage", query=LogPageQuery,
           answer=LogPage, tags=("logs",), errors=_LOG_ERRORS)
async def logs(request: web.Request) -> web.Response:
    query = parse_query(request, LogPageQuery, repeatable=("account",))
    page = await log_usecases.read_log(request.app[DB], request.app[REPORTING], caller_of(request), query)
    return json_response(page)


@api.route("GET", "/logs.csv", "The same log as a CSV download (every matching row)", query=LogQuery,
           content_type="text/csv", tags=("logs",), errors=_LOG_ERRORS)
async def logs_csv(request: web.Request) -> web.StreamResponse:
    return await _relay(request, "csv")


@api.route("GET", "/logs/report", "The same log as a print-ready report (HTML, or PDF with format=pdf)",
           query=ReportQuery, content_type="application/pdf, text/html", tags=("logs",), errors=_LOG_ERRORS)
async def logs_report(request: web.Request) -> web.StreamResponse:
    return await _relay(request, "report")


async def _relay(request: web.Request, kind: Literal["csv", "report"]) -> web.StreamResponse:
    """Stream reporting's answer through, chunk by chunk: a million-row CSV never sits in memory."""
    query = parse_query(request, ReportQuery if kind == "report" else LogQuery, repeatable=("account",))
    async with log_usecases.export(request.app[DB], request.app[REPORTING], caller_of(request), query,
                                   kind) as upstream:
        response = web.StreamResponse(
            status=upstream.status, headers={h: upstream.headers[h] for h in _PASSED_ON if h in upstream.headers}
        )
        if kind == "report":
            response.headers["Content-Security-Policy"] = REPORT_POLICY
        await response.prepare(request)
        async for chunk in upstream.content.iter_chunked(64 * 1024):
            await response.write(chunk)
        await response.write_eof()
        return response
