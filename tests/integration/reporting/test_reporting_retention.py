"""Rows past the retention window go, in small batches, by the service's own background task."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from common.runtime import DB
from services.reporting.app import create_app
from services.reporting.maintenance import store, usecases
from services.reporting.settings import ReportingSettings
from tests.conftest import Infra
from tests.harness import INTERNAL_SECRET as SECRET
from tests.integration.reporting.reporting_support import APPLY_TIMEOUT_SECONDS, FakeLedger, Reporting

TENANT = uuid.uuid4()


async def _ages(reporting: Reporting, ledger: FakeLedger, days: list[int]) -> None:
    now = datetime.now(UTC)
    posted = [
        await ledger.post(TENANT, "purchase", [("world", -1, -n), ("system", 1, n)], now - timedelta(days=age))
        for n, age in enumerate(days, start=1)
    ]
    await reporting.wait_applied(*(p.seq for p in posted))


async def test_the_purge_deletes_only_rows_older_than_the_window_a_batch_per_statement(
    reporting: Reporting, ledger: FakeLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _ages(reporting, ledger, [500, 450, 420, 401, 401, 399, 10, 0])
    await reporting.sql("UPDATE applied_transactions SET applied_at = now() - interval '401 days' WHERE seq <= 3")
    statements: list[tuple[str, int]] = []
    purge_batch = store.purge_batch

    async def counted(conn: asyncpg.Connection, table: store.PurgedTable, before: datetime, batch: int) -> int:
        deleted = await purge_batch(conn, table, before, batch)
        statements.append((table, deleted))
        return deleted

    monkeypatch.setattr(store, "purge_batch", counted)

    purged = await usecases.purge_expired(reporting.client.app[DB], 400, 2, datetime.now(UTC))

    assert (purged.entries, purged.applied) == (5, 3)
    assert statements == [("log_entries", 2), ("log_entries", 2), ("log_entries", 1),
                          ("applied_transactions", 2), ("applied_transactions", 1)]
    left = await reporting.sql("SELECT balance_after FROM log_entries ORDER BY occurred_at")
    assert [r["balance_after"] for r in left] == [6, 7, 8]


async def test_the_background_task_purges_by_the_retention_setting(
    reporting: Reporting, ledger: FakeLedger, exchange_name: str, infra: Infra
) -> None:
    await _ages(reporting, ledger, [45, 40, 32, 20])
    settings = ReportingSettings(
        database_url=reporting.database_url, broker_url=infra.broker_url, exchange=exchange_name,
        internal_token_secret=SECRET, log_retention_days=31, purge_interval_seconds=0.05, purge_batch_size=1,
        db_pool_size=2,
    )
    client: TestClient[web.Request, web.Application] = TestClient(TestServer(create_app(settings)))
    await client.start_server()
    try:
        async with asyncio.timeout(APPLY_TIMEOUT_SECONDS):
            while len(await reporting.sql("SELECT 1 FROM log_entries")) > 1:  # noqa: ASYNC110 (polls the database)
                await asyncio.sleep(0.05)
    finally:
        await client.close()

    assert [r["balance_after"] for r in await reporting.sql("SELECT balance_after FROM log_entries")] == [4]
