"""The CSV streams: 200,000 rows through the real service process with its memory barely moving.

The service runs as `python -m services.reporting`, so what is measured is the process a deployment
runs (uvloop, no test client in between), read from the kernel's own accounting in /proc."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from common import accounts
from tests.conftest import Infra, NewDatabase
from tests.harness import INTERNAL_SECRET as SECRET
from tests.integration.reporting.reporting_support import auth
from tests.support import free_port

ROOT = Path(__file__).resolve().parents[3]
ROWS = 200_000
MAX_GROWTH_BYTES = 50 * 1024 * 1024
TENANT = uuid.uuid4()
ALICE, BOB = uuid.uuid4(), uuid.uuid4()


def _memory(pid: int) -> dict[str, int]:
    """VmRSS (now) and VmHWM (peak since start) of a process, in bytes."""
    figures = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            figures[name] = int(value.split()[0]) * 1024
    return figures


@pytest.fixture
async def service(new_database: NewDatabase, exchange_name: str, infra: Infra) -> AsyncIterator[tuple[str, str, int]]:
    """(base url, database url, pid) of a reporting process started for this test."""
    database_url, port = await new_database("stream"), free_port()
    env = {**os.environ, "REPORTING_DATABASE_URL": database_url, "REPORTING_PORT": str(port),
           "INTERNAL_TOKEN_SECRET": SECRET, "BROKER_URL": infra.broker_url, "EXCHANGE_NAME": exchange_name,
           "LOG_LEVEL": "WARNING"}
    process = subprocess.Popen([sys.executable, "-m", "services.reporting"], cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session, asyncio.timeout(30):
            while True:
                assert process.poll() is None, "the reporting process exited"
                try:
                    async with session.get(f"{url}/readyz") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        yield url, database_url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=15)


async def _fill(database_url: str) -> None:
    """ROWS log entries over the last ~23 days, straight into the table, plus the names they show."""
    codes = ["system", accounts.user_code(ALICE), accounts.user_code(BOB)]
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            """INSERT INTO directory_tenants (id, name, timezone, version) VALUES ($1, 'Harbour Realty',
               'Australia/Sydney', 1)""", TENANT)
        await conn.executemany("INSERT INTO directory_users (id, tenant_id, name, version) VALUES ($1, $2, $3, 1)",
                               [(ALICE, TENANT, "Alice Nguyen"), (BOB, TENANT, "=Bob Smith")])
        await conn.execute(
            """INSERT INTO log_entries (id, tenant_id, account_id, account_code, ledger_seq, transaction_id,
                   occurred_at, direction, quantity, kind, balance_after, counterparty_code, actor_user_id,
                   reference, note)
               SELECT gen_random_uuid(), $1, ($2::uuid[])[n % 3 + 1], ($3::text[])[n % 3 + 1], n, gen_random_uuid(),
                      now() - make_interval(secs => n * 10), CASE WHEN n % 2 = 0 THEN 'in' ELSE 'out' END,
                      n % 50 + 1, 'transfer', n, ($3::text[])[(n + 1) % 3 + 1], $4, 'TR-' || n,
                      'note ' || n || ', with "quotes" and a comma'
               FROM generate_series(1, $5::int) AS n""",
            TENANT, [accounts.account_id(TENANT, c) for c in codes], codes, ALICE, ROWS,
        )
        await conn.execute("ANALYZE log_entries")
    finally:
        await conn.close()


async def test_200k_rows_stream_with_the_service_memory_growing_less_than_50_mb(
    service: tuple[str, str, int],
) -> None:
    url, database_url, pid = service
    await _fill(database_url)
    async with aiohttp.ClientSession() as session:
        # Warm up on an empty tenant: what the first request loads once is not per-row memory.
        async with session.get(f"{url}/logs.csv", params={"scope": "tenant"}, headers=auth(uuid.uuid4())) as warm:
            assert warm.status == 200
            await warm.read()
        before = _memory(pid)
        sampled_peak, lines, size = before["VmRSS"], 0, 0
        started = time.perf_counter()
        async with session.get(f"{url}/logs.csv", params={"scope": "tenant"}, headers=auth(TENANT)) as response:
            assert response.status == 200
            async for chunk in response.content.iter_chunked(256 * 1024):
                # Each line ends in CRLF; a chunk may end between the CR and the LF, so the LFs are counted.
                lines += chunk.count(b"\n")
                size += len(chunk)
                sampled_peak = max(sampled_peak, _memory(pid)["VmRSS"])
        seconds = time.perf_counter() - started
    after = _memory(pid)

    # VmHWM is the kernel's exact peak; it only says something about the download if it rose during it.
    peak = after["VmHWM"] if after["VmHWM"] > before["VmHWM"] else sampled_peak
    growth = peak - before["VmRSS"]
    mib = 1024 * 1024
    print(
        f"\nCSV streaming: {ROWS} rows, {size / mib:.1f} MiB in {seconds:.2f} s = {ROWS / seconds:,.0f} rows/s; "
        f"service RSS before {before['VmRSS'] / mib:.1f} MiB, peak {peak / mib:.1f} MiB "
        f"(sampled {sampled_peak / mib:.1f}), after {after['VmRSS'] / mib:.1f} MiB, growth {growth / mib:.1f} MiB"
    )
    # The header, then one line per row (the notes hold no line breaks).
    assert lines == ROWS + 1
    assert growth < MAX_GROWTH_BYTES
