"""The 30-day log: one account's first page among millions of rows (p50/p99), straight from reporting
and through the gateway, and the CSV download of one account's million rows (rows per second, and the
memory of the services streaming it). Rows are generated in reporting's database (bench/logdata.py)."""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import asdict

import aiohttp

from bench import load, logdata, seed, system
from bench.clients import InternalTokens, error_label, identity_of, sign_in
from bench.load import Request
from bench.machine import Probe, RssSampler
from bench.modes import Mode
from bench.options import Options
from bench.results import Result, Row
from bench.seed import Directory
from common.identity import Identity
from services.reporting.logs import store

NAME = "logs"
TENANTS = 10  # the seeded users spread over tenants of 1,000, as a reporting database serves many


class ReportingLog:
    """GET /logs on reporting for a random account (or always the same one), as the gateway asks it."""

    def __init__(self, running: system.System, directory: Directory, only: uuid.UUID | None = None) -> None:
        self._url = running.url("reporting") + "/logs"
        self._tokens = InternalTokens(running.secret)
        self._accounts: list[tuple[Identity, uuid.UUID]] = [
            (identity_of(s.master, s.tenant), s.account(p)[0]) for s in directory.tenants for p in s.users
        ]
        if only is not None:
            self._accounts = [a for a in self._accounts if a[1] == only]
        self._rng = random.Random()

    async def __call__(self, client: aiohttp.ClientSession) -> str | None:
        identity, account = self._rng.choice(self._accounts[1:] or self._accounts)  # [0] is the heavy one
        headers = {"Authorization": self._tokens.header(identity, "reporting")}
        async with client.get(self._url, params={"account": str(account), "days": "30", "limit": "100"},
                              headers=headers) as response:
            await response.read()
            return None if response.status == 200 else error_label(response.status)


class GatewayLog:
    """GET /api/v1/logs as a signed-in user: their own account's first page, names filled in."""

    def __init__(self, gateway_url: str, token: str) -> None:
        self._url, self._headers = gateway_url + "/api/v1/logs", {"Authorization": "Bearer " + token}

    async def __call__(self, client: aiohttp.ClientSession) -> str | None:
        async with client.get(self._url, headers=self._headers) as response:
            await response.read()
            return None if response.status == 200 else error_label(response.status)


async def run(mode: Mode, options: Options, result: Result) -> None:
    """Fills `result` as it goes: what was measured before a failure is kept."""
    async with system.running(NAME, ("reporting", "gateway")) as running:
        try:
            directory = await seed.seed(running, mode.users, tenants=TENANTS)
            data = await logdata.generate(running.database_url("reporting"), directory, mode.log_rows, mode.csv_rows)
            result.notes.append(f"{data.rows:,} log rows over {mode.users:,} accounts, generated in {data.seconds} s; "
                                f"one account has {data.heavy_rows:,} rows in the last 30 days")
            heavy_tenant = directory.tenants[0]
            heavy_user, typical_user = heavy_tenant.users[0], heavy_tenant.users[1]
            heavy_account = heavy_tenant.account(heavy_user)[0]
            plan = await logdata.page_plan(running.database_url("reporting"), heavy_tenant.tenant.id, heavy_account)
            # With reporting's own planner settings (store.PLANNER_SETTINGS): the plan the service gets.
            as_run = await logdata.page_plan(store.planned_dsn(running.database_url("reporting")),
                                             heavy_tenant.tenant.id, heavy_account)
            result.notes.append(f"plan of the 1M-row account's first page: {as_run} (the planner's own choice, "
                                f"without reporting's settings: {plan})")
            async with aiohttp.ClientSession() as session:
                heavy_token = await sign_in(session, running.url("gateway"), heavy_user.email, seed.PASSWORD)
                typical_token = await sign_in(session, running.url("gateway"), typical_user.email, seed.PASSWORD)
            queries: list[tuple[str, Request, int]] = [
                ("reporting /logs, one account, c=1", ReportingLog(running, directory), 1),
                ("reporting /logs, one account, c=8", ReportingLog(running, directory), 8),
                ("reporting /logs, the 1M-row account, c=1",
                 ReportingLog(running, directory, only=heavy_tenant.account(heavy_user)[0]), 1),
                ("gateway /api/v1/logs, c=1", GatewayLog(running.url("gateway"), typical_token), 1),
                ("gateway /api/v1/logs, c=8", GatewayLog(running.url("gateway"), typical_token), 8),
            ]
            for case, request, concurrency in queries:
                await _query(result, running, case, request, concurrency, mode)
            account = heavy_tenant.account(heavy_user)[0]
            await _csv(result, running, "reporting /logs.csv", running.url("reporting") + "/logs.csv",
                       {"account": str(account), "days": "30"},
                       {"Authorization": InternalTokens(running.secret).header(
                           identity_of(heavy_user, heavy_tenant.tenant), "reporting")})
            await _csv(result, running, "gateway /api/v1/logs.csv", running.url("gateway") + "/api/v1/logs.csv", {},
                       {"Authorization": "Bearer " + heavy_token})
        finally:
            result.services = running.usage()


async def _query(result: Result, running: system.System, case: str, request: Request, concurrency: int,
                 mode: Mode) -> None:
    leg = await load.closed_loop(request, concurrency, mode.warmup_seconds, mode.log_query_seconds,
                                 Probe(running.pids()))
    latency, usage = leg.latency_ms(), leg.usage
    assert usage is not None
    result.add(Row(
        case=case, throughput=round(leg.throughput, 1), unit="queries/s", p50_ms=latency["p50_ms"],
        p95_ms=latency["p95_ms"], p99_ms=latency["p99_ms"], max_ms=latency["max_ms"], requests=leg.requests,
        errors=sum(leg.errors.values()), load1=usage.load1, note=f"client CPU {usage.client_cpu_pct:.0f}%",
        details={"usage": asdict(usage), "errors": dict(leg.errors)},
    ))


async def _csv(result: Result, running: system.System, case: str, url: str, params: dict[str, str],
               headers: dict[str, str]) -> None:
    """Download the whole CSV, counting rows as they stream in (nothing is kept)."""
    probe = Probe(running.pids())
    lines = size = 0
    async with RssSampler(running.pids()) as memory, aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(None)) as s:
        probe.start()
        started = time.perf_counter()
        async with s.get(url, params=params, headers=headers) as response:
            if response.status != 200:
                raise RuntimeError(f"{case} answered {response.status}: {(await response.read())[:500]!r}")
            first_byte = time.perf_counter() - started
            async for chunk in response.content.iter_chunked(256 * 1024):
                lines += chunk.count(b"\n")
                size += len(chunk)
        seconds = time.perf_counter() - started
        usage = probe.stop()
    rows = lines - 1  # the header line
    growth = ", ".join(f"{name} {memory.before[name]:.0f}->{memory.peaks[name]:.0f} MB" for name in memory.peaks)
    result.add(Row(
        case=case, throughput=round(rows / seconds), unit="rows/s", p50_ms=None, requests=1, load1=usage.load1,
        note=f"{rows:,} rows, {size / 1e6:,.0f} MB in {seconds:.1f} s (first byte {first_byte * 1000:.0f} ms); "
             f"RSS {growth}",
        details={"rows": rows, "bytes": size, "seconds": round(seconds, 2),
                 "first_byte_ms": round(first_byte * 1000, 1), "rss_before_mb": memory.before,
                 "rss_peak_mb": memory.peaks, "usage": asdict(usage)},
    ))
