from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestClient, TestServer

from common import events
from common.bus import Broker
from common.events import Event, PurchasePaid
from common.identity import Identity, issue_internal_token
from services.ledger.app import create_app
from services.ledger.settings import LedgerSettings
from tests.conftest import Infra, NewDatabase

SECRET = "ledger-test-secret-" + "x" * 32


@dataclass
class LedgerHarness:
    client: TestClient
    broker: Broker
    dsn: str

    def token(self, tenant_id: uuid.UUID, role: str = "master") -> dict[str, str]:
        identity = Identity(role=role, tenant_id=tenant_id, user_id=uuid.uuid4())  # type: ignore[arg-type]
        return {"Authorization": "Bearer " + issue_internal_token(identity, SECRET, "ledger")}

    async def balances(self, tenant_id: uuid.UUID, *codes: str) -> dict[str, int]:
        response = await self.client.get(
            "/accounts", params=[("code", c) for c in codes], headers=self.token(tenant_id)
        )
        assert response.status == 200, await response.text()
        return {a["code"]: a["balance"] for a in await response.json()}

    async def publish(self, event: Event) -> None:
        await self.broker.publish(event.model_dump(mode="json", exclude_none=True), event.type)


def purchase_paid(tenant_id: uuid.UUID, code: str = "system", quantity: int = 500,
                  purchase_id: uuid.UUID | None = None) -> Event:
    payload = PurchasePaid(
        purchase_id=purchase_id or uuid.uuid4(), tenant_id=tenant_id, account_id=uuid.uuid4(),
        account_code=code, quantity=quantity, buyer_user_id=uuid.uuid4(), invoice_number="INV-000001",
        total_cents=4400, currency="AUD", paid_at=datetime.now(UTC),
    )
    return Event.new(type=events.PURCHASE_PAID, source="billing", subject=str(tenant_id), data=payload)


@pytest.fixture
async def ledger(infra: Infra, new_database: NewDatabase, exchange_name: str) -> AsyncIterator[LedgerHarness]:
    dsn = await new_database("ledger")
    settings = LedgerSettings(
        database_url=dsn, broker_url=infra.broker_url, exchange=exchange_name, internal_token_secret=SECRET
    )
    client = TestClient(TestServer(create_app(settings)))
    await client.start_server()
    broker = Broker(infra.broker_url, exchange_name)
    await broker.connect()
    yield LedgerHarness(client, broker, dsn)
    await broker.close()
    await client.close()
