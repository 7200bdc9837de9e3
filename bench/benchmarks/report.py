"""The printable report at size: GET /logs/report on reporting for 10,000 and 100,000 rows, as HTML (streamed
from the cursor) and as PDF (drawn chunk by chunk with ReportLab): seconds, bytes, and how much the service
process's resident memory rose while it made them (flat memory is the point: the report has no row limit).

Rows are written straight into reporting's database with generate_series, one tenant per size.
`python -m bench.benchmarks.report [--quick]` runs it alone; `run` is the benchmark for `python -m bench`.
"""

from __future__ import annotations

import sys
import time
import uuid
from dataclasses import asdict

import aiohttp
import asyncpg

from bench import results, system
from bench.clients import InternalTokens
from bench.machine import Probe, RssSampler
from bench.modes import FULL, QUICK, Mode
from bench.options import Options
from bench.results import Result, Row
from common import accounts
from common.identity import Identity

NAME = "report"


def _sizes(mode: Mode) -> tuple[int, ...]:
    return (10_000, 100_000) if mode is FULL else (2_000, 10_000)


# Two users alternating, times spread over the last 20 days, one note in four with a comma and quotes
# (escaped in the HTML, cut to its column in the PDF), every fifth row a reservation.
_GENERATE = """
INSERT INTO log_entries (id, tenant_id, account_id, account_code, ledger_seq, transaction_id, occurred_at,
                         direction, quantity, kind, balance_after, counterparty_code, actor_user_id, reference,
                         note, reservation)
SELECT gen_random_uuid(), $1, ($2::uuid[])[g % 2 + 1], ($3::text[])[g % 2 + 1], g, gen_random_uuid(),
       now() - make_interval(secs => ($4::int - g) * (1728000.0 / $4::int)),
       CASE WHEN g % 2 = 0 THEN 'in' ELSE 'out' END, 1 + g % 9,
       (ARRAY['transfer', 'transfer', 'capture', 'purchase', 'hold'])[1 + g % 5], 1000 + g % 5000,
       ($3::text[])[(g + 1) % 2 + 1], $5, 'message:' || g,
       CASE WHEN g % 4 = 0 THEN 'Open home Saturday, 10am "' || g || '"' END, g % 5 = 4
FROM generate_series(1, $4::int) AS g
"""


async def _fill(dsn: str, rows: int) -> tuple[uuid.UUID, uuid.UUID]:
    """A tenant with two people and `rows` movements; answers (tenant, the master's user id)."""
    tenant, alice, bob = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    codes = [accounts.user_code(alice), accounts.user_code(bob)]
    ids = [accounts.account_id(tenant, code) for code in codes]
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("INSERT INTO directory_tenants (id, name, timezone, version) "
                           "VALUES ($1, $2, 'Australia/Sydney', 1)", tenant, f"Bench Realty {rows:,}")
        await conn.executemany("INSERT INTO directory_users (id, tenant_id, name, version) VALUES ($1, $2, $3, 1)",
                               [(alice, tenant, "Alice Nguyen"), (bob, tenant, "Bob Smith")])
        await conn.executemany("INSERT INTO log_accounts (account_id, tenant_id, account_code) VALUES ($1, $2, $3)",
                               list(zip(ids, [tenant, tenant], codes, strict=True)))
        await conn.execute(_GENERATE, tenant, ids, codes, rows, alice)
        await conn.execute("ANALYZE log_entries")
    finally:
        await conn.close()
    return tenant, alice


async def run(mode: Mode, options: Options, result: Result) -> None:
    """Fills `result` as it goes: what was measured before a failure is kept."""
    async with system.running(NAME, ("reporting",)) as running:
        try:
            tokens = InternalTokens(running.secret)
            for rows in _sizes(mode):
                tenant, master = await _fill(running.database_url("reporting"), rows)
                header = tokens.header(Identity(role="master", tenant_id=tenant, user_id=master), "reporting")
                for output in ("html", "pdf"):
                    await _report(result, running, rows, output, header)
        finally:
            result.services = running.usage()


async def _report(result: Result, running: system.System, rows: int, output: str, header: str) -> None:
    """One whole report downloaded (counted, not kept), the service's memory sampled meanwhile."""
    url = running.url("reporting") + "/logs/report"
    params = {"scope": "tenant", "days": "30", "format": output}
    probe = Probe(running.pids())
    size = 0
    async with RssSampler(running.pids()) as memory, aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(None)) as s:
        probe.start()
        started = time.perf_counter()
        async with s.get(url, params=params, headers={"Authorization": header}) as response:
            if response.status != 200:
                raise RuntimeError(f"report of {rows} answered {response.status}: {(await response.read())[:500]!r}")
            first_byte = time.perf_counter() - started
            async for chunk in response.content.iter_chunked(256 * 1024):
                size += len(chunk)
        seconds = time.perf_counter() - started
        usage = probe.stop()
    before, peak = memory.before["reporting"], memory.peaks["reporting"]
    result.add(Row(
        case=f"reporting /logs/report {output.upper()}, {rows:,} rows", throughput=round(rows / seconds),
        unit="rows/s", requests=1, load1=usage.load1,
        note=f"{seconds:.1f} s (first byte {first_byte * 1000:.0f} ms), {size / 1e6:,.1f} MB; "
             f"reporting RSS {before:.0f}->{peak:.0f} MB (+{peak - before:.0f})",
        details={"rows": rows, "format": output, "bytes": size, "seconds": round(seconds, 2),
                 "first_byte_ms": round(first_byte * 1000, 1), "rss_before_mb": before, "rss_peak_mb": peak,
                 "rss_growth_mb": round(peak - before, 1), "usage": asdict(usage)},
    ))


def main() -> int:
    import uvloop

    mode = QUICK if "--quick" in sys.argv[1:] else FULL
    result = Result(NAME, mode.name)
    started = time.monotonic()
    try:
        uvloop.run(run(mode, Options(), result))
    finally:
        result.seconds = round(time.monotonic() - started, 1)
        print(f"   wrote {results.write(result)} in {result.seconds:.0f} s", flush=True)
    return 1 if result.error else 0


if __name__ == "__main__":
    raise SystemExit(main())
