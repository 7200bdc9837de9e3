"""A running ledger on this test's own database and exchange (the shared harness, tests/harness.py), and the
helpers its tests drive it with: directory facts, funding, transfers, holds."""

from __future__ import annotations

import contextlib
import itertools
import shutil
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from common.accounts import account_id
from common.bus import Broker
from common.contracts import events
from common.contracts.events import CreditModeChanged, Event, PurchasePaid, TenantChanged, UserChanged
from common.db import migrate
from common.runtime import DB
from services.ledger.app import MIGRATIONS, create_app
from services.ledger.directory import usecases as directory
from services.ledger.purchases import usecases as purchases
from services.ledger.settings import LedgerSettings
from tests.conftest import Infra, StartService
from tests.harness import INTERNAL_SECRET, internal_token

SECRET = INTERNAL_SECRET


@dataclass
class LedgerHarness:
    client: TestClient
    broker: Broker
    dsn: str
    versions: itertools.count = field(default_factory=lambda: itertools.count(1))

    @property
    def pool(self) -> asyncpg.Pool:
        return self.client.app[DB]

    def token(self, tenant_id: uuid.UUID | None, role: str = "master", **facts: Any) -> dict[str, str]:
        return {"Authorization": "Bearer " + internal_token("ledger", role, tenant_id, **facts)}

    def as_user(self, user: UserChanged) -> dict[str, str]:
        return self.token(user.tenant_id, user.role, user_id=user.user_id, team=user.team,
                          manage_credits=user.manage_credits, send_sms=user.send_sms)

    async def add_tenant(self, mode: str = "individual", threshold: int = 0) -> uuid.UUID:
        tenant = uuid.uuid4()
        change = TenantChanged(tenant_id=tenant, name="T", credit_mode=mode, timezone="UTC",  # type: ignore[arg-type]
                               low_balance_threshold=threshold, version=next(self.versions))
        await directory.tenant_changed(self.pool, uuid.uuid4(), change)
        return tenant

    async def add_user(self, tenant: uuid.UUID, role: str = "user", team: str | None = None,
                       manage_credits: bool = False, active: bool = True, send_sms: bool = True,
                       user_id: uuid.UUID | None = None, actor: uuid.UUID | None = None) -> UserChanged:
        change = UserChanged(tenant_id=tenant, user_id=user_id or uuid.uuid4(), name="U", role=role,  # type: ignore[arg-type]
                             team=team, active=active, send_sms=send_sms, manage_credits=manage_credits,
                             version=next(self.versions), actor_user_id=actor)
        await directory.user_changed(self.pool, uuid.uuid4(), change)
        return change

    async def fund(self, tenant: uuid.UUID, code: str, quantity: int, expires_at: datetime | None = None) -> uuid.UUID:
        """Credit a paid purchase; answers the purchase's id (its credits are the lot `purchase:<id>`)."""
        event = purchase_paid(tenant, code, quantity, expires_at=expires_at)
        await purchases.credit_purchase(self.pool, event.id, event.payload(PurchasePaid))
        return event.payload(PurchasePaid).purchase_id

    async def transfer(self, headers: dict[str, str], source: str, target: str, quantity: int,
                       key: str | None = None, accept_terms: bool = True) -> tuple[int, dict[str, Any]]:
        body = {"from_code": source, "to_code": target, "quantity": quantity, "accept_terms": accept_terms,
                "terms_version": "2026-11"}
        response = await self.client.post("/transfers", json=body,
                                          headers={**headers, "Idempotency-Key": key or str(uuid.uuid4())})
        return response.status, await response.json()

    async def balances(self, tenant_id: uuid.UUID, *codes: str) -> dict[str, int]:
        response = await self.client.get(
            "/accounts", params=[("code", c) for c in codes], headers=self.token(tenant_id)
        )
        assert response.status == 200, await response.text()
        return {a["code"]: a["balance"] for a in await response.json()}

    async def publish(self, event: Event) -> None:
        await self.broker.publish(event.model_dump(mode="json", exclude_none=True), event.routing_key)

    async def post(self, path: str, body: dict[str, Any] | None, headers: dict[str, str],
                   key: str | None = None) -> tuple[int, dict[str, Any]]:
        """POST to the ledger; a write gets a fresh Idempotency-Key unless one is given."""
        response = await self.client.post(path, json=body,
                                          headers={**headers, "Idempotency-Key": key or str(uuid.uuid4())})
        return response.status, await response.json()

    async def place_hold(self, tenant: uuid.UUID, code: str, quantity: int, key: str | None = None,
                         **extra: Any) -> tuple[int, dict[str, Any]]:
        body = {"account_id": str(account_id(tenant, code)), "quantity": quantity, **extra}
        return await self.post("/holds", body, self.token(None, "service"), key)

    async def accounts(self, tenant_id: uuid.UUID, *codes: str) -> dict[str, dict[str, Any]]:
        """Each account's balance, held and available, by code."""
        response = await self.client.get(
            "/accounts", params=[("code", c) for c in codes], headers=self.token(tenant_id)
        )
        assert response.status == 200, await response.text()
        return {a["code"]: a for a in await response.json()}

    async def outbox(self, routing_key: str, tenant_id: uuid.UUID | None = None) -> list[dict[str, Any]]:
        """The envelopes this ledger wrote to its outbox with the routing key, oldest first."""
        rows = await self.pool.fetch("SELECT envelope FROM outbox WHERE routing_key = $1 ORDER BY id",
                                     events.routing_key(routing_key))  # a type names its key too
        envelopes = [r["envelope"] for r in rows]
        if tenant_id is not None:
            envelopes = [e for e in envelopes if e["data"]["tenant_id"] == str(tenant_id)]
        return envelopes

    async def switch_mode(self, tenant: uuid.UUID, mode: str, previous: str, actor: uuid.UUID | None = None,
                          event_id: uuid.UUID | None = None, version: int | None = None) -> CreditModeChanged:
        change = CreditModeChanged(tenant_id=tenant, mode=mode, previous_mode=previous, user_ids=[],  # type: ignore[arg-type]
                                   actor_user_id=actor, version=version or next(self.versions))
        await directory.credit_mode_changed(self.pool, event_id or uuid.uuid4(), change)
        return change


def purchase_paid(tenant_id: uuid.UUID, code: str = "system", quantity: int = 500,
                  purchase_id: uuid.UUID | None = None, expires_at: datetime | None = None) -> Event:
    payload = PurchasePaid(
        purchase_id=purchase_id or uuid.uuid4(), tenant_id=tenant_id, account_id=uuid.uuid4(),
        account_code=code, quantity=quantity, buyer_user_id=uuid.uuid4(), invoice_number="INV-000001",
        total_cents=4400, currency="AUD", paid_at=datetime.now(UTC), credits_expire_at=expires_at,
    )
    return Event.new(type=events.PURCHASE_PAID, source="billing", subject=str(tenant_id), data=payload)


@pytest.fixture
async def ledger(start_service: StartService) -> LedgerHarness:
    service = await start_service("ledger", create_app, LedgerSettings)
    return LedgerHarness(service.client, service.broker, service.dsn)


@contextlib.asynccontextmanager
async def ledger_database_before(infra: Infra, tmp_path: Path, migration: str) -> AsyncIterator[str]:
    """A ledger database of its own migrated up to just before `migration` (a file name in the ledger's
    migrations): an installation about to be upgraded, to fill with the data of the day. Answers its DSN;
    dropped afterwards."""
    before = tmp_path / "migrations-before"
    before.mkdir()
    for path in sorted(MIGRATIONS.glob("*.sql")):
        if path.name < migration:
            shutil.copy(path, before / path.name)
    dsn = infra.database_url(f"t_{infra.run_id}_ledger_upgrade_{uuid.uuid4().hex[:6]}")
    await migrate(dsn, before)
    try:
        yield dsn
    finally:
        admin = await asyncpg.connect(infra.database_url("postgres"))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{dsn.rsplit("/", 1)[1]}" WITH (FORCE)')
        finally:
            await admin.close()
