"""A running reporting service on this test's own database and exchange, and the fake ledger
that feeds it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from common.bus import Broker
from services.reporting.app import create_app
from services.reporting.settings import ReportingSettings
from tests.conftest import Infra, StartService
from tests.integration.reporting.reporting_support import (
    WAIT_SECONDS,
    FakeDirectory,
    FakeLedger,
    Reporting,
)


@pytest.fixture
async def reporting(start_service: StartService) -> Reporting:
    service = await start_service(
        "reporting", create_app, ReportingSettings, consistency_wait_seconds=WAIT_SECONDS, db_pool_size=4
    )
    return Reporting(service.client, service.dsn)


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
