"""Reporting's API as the gateway calls it: the log as JSON pages, and its CSV and printable report,
streamed through as reporting sends them."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import aiohttp

from common.contracts.reporting import LogPage, Usage
from common.identity import Identity
from gateway.clients.base import TypedClient

# The query as parameters named as in `common.contracts.reporting.LogQuery`: reporting validates them.
LogParams = Sequence[tuple[str, str]]
# An answer being streamed: its status and headers are read at once, its body chunk by chunk.
Streamed = contextlib.AbstractAsyncContextManager[aiohttp.ClientResponse]


REPORT_SECONDS = 300.0


class ReportingClient(TypedClient):
    async def log_page(self, identity: Identity, params: LogParams) -> LogPage:
        return LogPage.model_validate(await self._service.call("GET", "/logs", identity, query=list(params)))

    def log_csv(self, identity: Identity, params: LogParams) -> Streamed:
        """Every matching row as CSV, read by the caller chunk by chunk."""
        return self._service.stream("/logs.csv", identity, query=list(params))

    def log_report(self, identity: Identity, params: LogParams) -> Streamed:
        """The print-ready report (HTML, or PDF), read by the caller chunk by chunk. A PDF is drawn whole before
        its first byte (about 22 s for 100,000 rows), so the service is given minutes, not seconds, to start."""
        return self._service.stream("/logs/report", identity, query=list(params), first_byte_seconds=REPORT_SECONDS)

    async def usage(self, identity: Identity, params: LogParams) -> Usage:
        """Credits in and out per day (`common.contracts.reporting.UsageQuery`'s parameters)."""
        return Usage.model_validate(await self._service.call("GET", "/usage", identity, query=list(params)))

    async def usage_svg(self, identity: Identity, params: LogParams) -> bytes:
        """The same figures as reporting's SVG chart, handed on as sent."""
        return (await self._service.raw("GET", "/usage.svg", identity, query=list(params))).body
