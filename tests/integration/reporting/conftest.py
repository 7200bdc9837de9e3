"""A running reporting service on this test's own database and exchange, and the fake ledger
that feeds it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from common.bus import Broker
from services.reporting.app import create_app
from services.reporting.settings import ReportingSettings
from tests.conftest import Infra, NewDatabase
from tests.integration.reporting.reporting_support import (
    SECRET,
    WAIT_SECONDS,
    FakeDirectory,
    FakeLedger,
    Reporting,
)


@pytest.fixture
async def reporting(new_database: NewDatabase, exchange_name: str, infra: Infra) -> AsyncIterator[Reporting]:
    database_url = await new_database("reporting")
    settings = ReportingSettings(
        database_url=database_url,
        broker_url=infra.broker_url,
        exchange=exchange_name,
        internal_token_secret=SECRET,
        consistency_wait_seconds=WAIT_SECONDS,
        db_pool_size=4,
    )
    client: TestClient[web.Request, web.Application] = TestClient(TestServer(create_app(settings)))
    await client.start_server()
    try:
        yield Reporting(client, database_url)
    finally:
        await client.close()


@pytest.fixture
async def ledger(reporting: Reporting, exchange_name: str, infra: Infra) -> AsyncIterator[FakeLedger]:
    broker = Broker(infra.broker_url, exchange_name)
    await broker.connect()
    try:
        yield FakeLedger(broker)
    finally:
        await broker.close()


@pytest.fixture
async def directory(ledger: FakeLedger) -> FakeDirectory:
    """The gateway's directory announcements, on the same broker connection as the fake ledger."""
    return FakeDirectory(ledger.broker)
