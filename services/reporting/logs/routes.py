"""The log's HTTP handlers: parse and validate, call a use case, shape the answer."""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from datetime import UTC, datetime

from aiohttp import web

from common.contracts.reporting import LogQuery, ReportQuery, SelectionQuery
from common.identity import Identity
from common.logs import get_logger
from common.problems import Forbidden
from common.web import identity_of, json_response, parse_query
from services.reporting.logs import csv_export, domain, report, report_pdf, usecases
from services.reporting.logs.schemas import log_page_answer
from services.reporting.reads import READS
from services.reporting.resources import EXPORT_SLOTS, SETTINGS

log = get_logger(__name__)

# Logs are people's credit history: no shared cache may keep a copy.
_PRIVATE = {"Cache-Control": "no-store"}
# A finished PDF is read from its temporary file and written to the client this much at a time.
_PDF_PIECE_BYTES = 256 * 1024

routes = web.RouteTableDef()


def _selection(request: web.Request, query: SelectionQuery, now: datetime) -> domain.Selection:
    return domain.selection(
        # The tenant comes from the signed identity only: an account id of another tenant then simply
        # matches nothing, and a scope is always the caller's own tenant.
        tenant_id=_tenant_of(identity_of(request)),
        scope=query.scope,
        account_ids=query.account,
        days=query.days,
        kind=query.kind,
        direction=query.direction,
        now=now,
    )


def _tenant_of(identity: Identity) -> uuid.UUID:
    if identity.tenant_id is None:
        raise Forbidden("Logs belong to a tenant, and this caller has none.")
    return identity.tenant_id


def _wait_seconds(request: web.Request) -> float:
    return request.app[SETTINGS].consistency_wait_seconds


@routes.get("/logs")
async def get_logs(request: web.Request) -> web.Response:
    query = parse_query(request, LogQuery, repeatable=("account",))
    wanted = domain.log_filter(_selection(request, query, datetime.now(UTC)), cursor=query.cursor, limit=query.limit)
    page = await usecases.read_log(request.app[READS], wanted, query.consistency_token, _wait_seconds(request))
    response = json_response(log_page_answer(page))
    response.headers.update(_PRIVATE)
    return response


@routes.get("/logs.csv")
async def get_logs_csv(request: web.Request) -> web.StreamResponse:
    """Every matching row, streamed: memory holds one chunk whatever the row count."""
    query = parse_query(request, SelectionQuery, repeatable=("account",))
    now = datetime.now(UTC)
    selected = _selection(request, query, now)
    async with (
        request.app[EXPORT_SLOTS],
        usecases.log_export(request.app[READS], selected, query.consistency_token, _wait_seconds(request)) as export,
    ):
        # Everything that can fail with a problem answer has run by now: after prepare() the status
        # is sent, and a later failure can only cut the download short.
        response = web.StreamResponse(
            headers={
                "Content-Type": csv_export.CONTENT_TYPE,
                "Content-Disposition": f'attachment; filename="{csv_export.filename(now, export.directory)}"',
                "X-Log-Stale": "true" if export.stale else "false",
                **_PRIVATE,
            }
        )
        await response.prepare(request)
        cells = csv_export.Cells(export.directory)
        try:
            await response.write(csv_export.encode_header())
            async for chunk in export.chunks:
                # write() waits while the client is slower than the database: chunks never pile up.
                await response.write(cells.encode(chunk))
        except ConnectionResetError:
            # The client went away: nothing to answer, and leaving the block releases the cursor.
            log.info("log_csv_abandoned", tenant_id=str(selected.tenant_id))
            return response
    await response.write_eof()
    return response


@routes.get("/logs/report")
async def get_logs_report(request: web.Request) -> web.StreamResponse:
    """The print-ready report as HTML (inline CSS, no scripts), or as PDF: any number of rows, streamed
    from a cursor in constant memory (the PDF through a temporary file, so a failure is a problem
    answer, not a truncated file)."""
    query = parse_query(request, ReportQuery, repeatable=("account",))
    now = datetime.now(UTC)
    selected = _selection(request, query, now)
    async with (
        request.app[EXPORT_SLOTS],
        usecases.report_stream(
            request.app[READS], selected, identity_of(request), query.consistency_token, _wait_seconds(request), now
        ) as printable,
    ):
        headers = {"X-Log-Stale": "true" if printable.report.stale else "false", **_PRIVATE}
        if query.format == "pdf":
            return await _pdf_report(request, printable, headers)
        response = web.StreamResponse(headers={"Content-Type": "text/html; charset=utf-8", **headers})
        await response.prepare(request)
        try:
            async for piece in report.stream_html(printable.report, printable.chunks):
                await response.write(piece)
        except ConnectionResetError:
            log.info("log_report_abandoned", tenant_id=str(selected.tenant_id))
            return response
    await response.write_eof()
    return response


async def _pdf_report(
    request: web.Request, printable: usecases.ReportStream, headers: dict[str, str]
) -> web.StreamResponse:
    with tempfile.TemporaryFile() as file:
        # Drawing is CPU for seconds on a long report: in a thread, a chunk at a time, so other requests
        # and the consumer go on while the next chunk is read.
        pdf = await asyncio.to_thread(report_pdf.PdfReport, printable.report, file)
        async for chunk in printable.chunks:
            await asyncio.to_thread(pdf.add, chunk)
        await asyncio.to_thread(pdf.finish)
        size = file.tell()
        file.seek(0)
        response = web.StreamResponse(headers={
            "Content-Type": report_pdf.CONTENT_TYPE,
            "Content-Length": str(size),
            "Content-Disposition": f'inline; filename="{report.filename(printable.report, "pdf")}"',
            **headers,
        })
        await response.prepare(request)
        try:
            while piece := file.read(_PDF_PIECE_BYTES):
                await response.write(piece)
        except ConnectionResetError:
            log.info("log_report_abandoned", tenant_id=str(printable.report.directory.tenant_id))
            return response
    await response.write_eof()
    return response
