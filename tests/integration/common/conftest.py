from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from common.bus import Broker
from common.contracts import events
from common.contracts.events import Event, TransactionPosted
from common.db import connect, migrate
from tests.conftest import Infra, NewDatabase

EFFECTS_MIGRATIONS = Path(__file__).parent / "migrations"


@pytest.fixture
async def database(new_database: NewDatabase) -> str:
    dsn = await new_database("common")
    await migrate(dsn, EFFECTS_MIGRATIONS)
    return dsn


@pytest.fixture
async def conn(database: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await connect(database)
    yield connection
    await connection.close()


@pytest.fixture
async def broker(infra: Infra, exchange_name: str) -> AsyncIterator[Broker]:
    b = Broker(infra.broker_url, exchange_name)
    await b.connect()
    yield b
    await b.close()


def posted_event(tenant_id: uuid.UUID | None = None, seq: int = 1) -> Event:
    payload = TransactionPosted(
        transaction_id=uuid.uuid4(), seq=seq, tenant_id=tenant_id or uuid.uuid4(), kind="transfer",
        occurred_at="2026-11-26T00:00:00Z", postings=[],  # type: ignore[arg-type]
    )
    return Event.new(type=events.TRANSACTION_POSTED, source="test", subject=None, data=payload)
