"""`GET /api/v1/events` through the gateway to a running ledger: a tenant's ledger events in order, in pages
linked by `Link: rel="next"`, each envelope as the ledger logged it; read by an internal system naming the
tenant or by the tenant's master, and by no one else."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from gateway.seed import ACME, GLOBEX, create_service_client
from services.ledger.app import create_app
from services.ledger.settings import LedgerSettings
from tests.conftest import Infra, NewDatabase, StartService
from tests.harness import INTERNAL_SECRET
from tests.integration.gateway.auth_support import Gateway, running_gateway
from tests.integration.ledger.conftest import LedgerHarness
from tests.support import eventually

TENANT = str(ACME.id)
PURCHASES = 5


@dataclass
class CatchUp:
    gateway: Gateway
    ledger: LedgerHarness

    async def service_token(self, tenant: uuid.UUID | None = None) -> str:
        client_id = f"subscriber-{uuid.uuid4().hex[:8]}"
        secret = await create_service_client(self.gateway.dsn, client_id, tenant)
        answer = await self.gateway.client.post("/api/v1/auth/service-token",
                                                json={"client_id": client_id, "client_secret": secret})
        assert answer.status == 200, await answer.text()
        return str((await answer.json())["access_token"])

    async def events(self, token: str, query: str) -> tuple[int, Any, str | None]:
        response = await self.gateway.client.get("/api/v1/events" + query, headers={"Authorization": f"Bearer {token}"})
        return response.status, await response.json(), response.headers.get("Link")

    async def logged(self, tenant: uuid.UUID) -> list[dict[str, Any]]:
        rows = await self.ledger.pool.fetch(
            "SELECT envelope::text AS envelope FROM event_log WHERE tenant_id = $1 ORDER BY sequence", tenant)
        return [json.loads(r["envelope"]) for r in rows]


@pytest.fixture
async def catch_up(start_service: StartService, infra: Infra, new_database: NewDatabase,
                   exchange_name: str) -> AsyncIterator[CatchUp]:
    ledger = await start_service("ledger", create_app, LedgerSettings)
    harness = LedgerHarness(ledger.client, ledger.broker, ledger.dsn)
    async with running_gateway(infra, new_database, exchange_name, LEDGER_URL=str(ledger.client.make_url("/")),
                               INTERNAL_TOKEN_SECRET=INTERNAL_SECRET) as gateway:
        # The ledger learns of Acme from the gateway's announcement of its seed (through the exchange)
        # before the purchases, so that the events they cause are always the same: each a credit, and
        # below Acme's low-balance threshold (100) a warning too.
        async def acme_known() -> bool:
            return await harness.pool.fetchval("SELECT count(*) FROM tenants WHERE id = $1", ACME.id) == 1

        await eventually(acme_known, timeout=10)
        for _ in range(PURCHASES):
            await harness.fund(ACME.id, "system", 10)
        yield CatchUp(gateway, harness)


async def test_a_service_follows_the_next_links_through_every_event_once_in_order(catch_up: CatchUp):
    token = await catch_up.service_token()
    seen: list[dict[str, Any]] = []
    query: str | None = f"?tenant_id={TENANT}&limit=2"
    logged = await catch_up.logged(ACME.id)
    last = len(logged)
    links = []
    while query is not None:
        status, page, link = await catch_up.events(token, query)
        assert status == 200, page
        assert page["last_sequence"] == last
        seen += page["events"]
        links.append(link)
        query = link[len("</api/v1/events"):link.index(">")] if link else None
        assert (link is None) == (page["next_after_sequence"] is None)
    assert links == [f'</api/v1/events?tenant_id={TENANT}&limit=2&after_sequence={n}>; rel="next"'
                     for n in range(2, last, 2)] + [None]
    assert [int(e["sequence"]) for e in seen] == list(range(1, last + 1))
    # Exactly as logged (and published): nothing added, dropped or reshaped on the way.
    assert seen == logged
    credits = [e for e in seen if e["type"] == "com.smscredits.ledger.transaction.posted"]
    assert [e["data"]["postings"][-1]["balance_after"] for e in credits] == [10, 20, 30, 40, 50]

    # Past the end: nothing, and no link.
    status, page, link = await catch_up.events(token, f"?tenant_id={TENANT}&after_sequence={last}")
    assert (status, page["events"], page["next_after_sequence"], link) == (200, [], None, None)


async def test_a_master_reads_their_own_tenant_named_or_not(catch_up: CatchUp):
    ava = (await catch_up.gateway.tokens("master@acme.test"))["access_token"]
    logged = await catch_up.logged(ACME.id)
    for query in ("?after_sequence=1", f"?after_sequence=1&tenant_id={TENANT}"):
        status, page, _ = await catch_up.events(ava, query)
        assert (status, page["events"], page["last_sequence"]) == (200, logged[1:], len(logged))


async def test_who_may_not_read_whose_events_is_told_with_a_problem(catch_up: CatchUp):
    service, bound_to_globex = await catch_up.service_token(), await catch_up.service_token(GLOBEX.id)
    people = {email: (await catch_up.gateway.tokens(email))["access_token"]
              for email in ("master@acme.test", "ben@acme.test", "master@globex.test", "ops@platform.test")}
    cases = [
        # Another tenant's events do not exist for a tenant's master, nor for a client bound to another.
        (people["master@acme.test"], f"?tenant_id={GLOBEX.id}", 404, "not-found"),
        (people["master@globex.test"], f"?tenant_id={TENANT}", 404, "not-found"),
        (bound_to_globex, f"?tenant_id={TENANT}", 404, "not-found"),
        (service, f"?tenant_id={uuid.uuid4()}", 404, "not-found"),
        # A user, an operator: known, not allowed.
        (people["ben@acme.test"], "", 403, "masters-only"),
        (people["ops@platform.test"], f"?tenant_id={TENANT}", 403, "masters-only"),
        # An internal system belongs to no tenant: it must say whose.
        (service, "", 422, "tenant-required"),
        # Malformed: out of range, not a uuid, an unknown parameter.
        (service, f"?tenant_id={TENANT}&after_sequence=-1", 400, "malformed-request"),
        (service, f"?tenant_id={TENANT}&after_sequence={2**63}", 400, "malformed-request"),
        (service, f"?tenant_id={TENANT}&limit=0", 400, "malformed-request"),
        (service, f"?tenant_id={TENANT}&limit=101", 400, "malformed-request"),
        (service, "?tenant_id=acme", 400, "malformed-request"),
        (service, f"?tenant_id={TENANT}&after=3", 400, "malformed-request"),
    ]
    for token, query, expected, slug in cases:
        status, problem, _ = await catch_up.events(token, query)
        assert (status, problem["status"], problem["type"].rsplit("/", 1)[-1]) == (expected, expected, slug), (
            query, problem)
    # A client bound to a tenant reads that one's without naming it (Globex has had no ledger events).
    status, page, _ = await catch_up.events(bound_to_globex, "")
    assert (status, page) == (200, {"events": [], "next_after_sequence": None, "last_sequence": 0})
