"""The subscriber example (`examples/subscriber/`) run as another team would run it: its own process, no
project code on its path, against the whole system. It starts after a tenant's history began and reads it
through the API; it misses events while down longer than its queue kept them, and the next live one
reveals the gap; a copy of an event it applied changes nothing. Throughout, its balances are the API's.

And the catch-up route itself, `GET /api/v1/events`: pages, the Link header, and who may read whose."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aio_pika
import aiohttp
import asyncpg
import pytest

from gateway.seed import ACME, GLOBEX
from tests.e2e.conftest import ROOT, Client, System
from tests.e2e.test_permissions import transfer
from tests.e2e.test_purchase_flow import GOOD_CARD, pay, start_purchase
from tests.support import eventually

EXAMPLE = ROOT / "examples" / "subscriber" / "subscriber.py"
TENANT = str(ACME.id)


async def service_credentials(system: System) -> tuple[str, str]:
    """A new internal system's client id and secret, made as an operator makes one."""
    client_id = f"e2e-subscriber-{uuid.uuid4().hex[:8]}"
    made = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "gateway", "service-client", client_id], cwd=ROOT, env=system.env,
        capture_output=True, check=True,
    )
    return client_id, made.stdout.decode().strip().splitlines()[-1]


async def service_client(system: System, http: aiohttp.ClientSession) -> Client:
    client_id, secret = await service_credentials(system)
    status, token = await Client(http, system.gateway_url).post(
        "/api/v1/auth/service-token", {"client_id": client_id, "client_secret": secret})
    assert status == 200, token
    return Client(http, system.gateway_url, token["access_token"])


async def funded_acme(sign_in: Any, http: aiohttp.ClientSession, quantity: int = 300) -> tuple[Client, dict[str, str]]:
    """Acme's master, with a purchase credited to System Credits; and Acme's account ids by name."""
    ava = await sign_in("master@acme.test")
    _, accounts = await ava.get("/api/v1/accounts")
    ids = {a["name"]: a["id"] for a in accounts}
    created = await start_purchase(ava, ids["System Credits"], quantity)
    await pay(http, created["checkout_url"], GOOD_CARD)

    async def credited() -> bool:
        return (await ava.get(f"/api/v1/purchases/{created['id']}"))[1]["status"] == "credited"

    await eventually(credited, timeout=10)
    return ava, ids


async def give(ava: Client, ids: dict[str, str], *names: str) -> None:
    for name in names:
        status, body = await transfer(ava, ids["System Credits"], ids[name], 3)
        assert status == 201, body


async def last_sequence(service: Client) -> int:
    status, page = await service.get("/api/v1/events", params={"tenant_id": TENANT, "limit": "1"})
    assert status == 200, page
    return int(page["last_sequence"])


async def api_balances(ava: Client) -> dict[str, int]:
    status, accounts = await ava.get("/api/v1/accounts")
    assert status == 200, accounts
    return {a["id"]: a["balance"] for a in accounts}


class RunningSubscriber:
    """The example in a process of its own, started in an empty directory with only the environment its
    README names: it imports nothing of the project's."""

    def __init__(self, system: System, workdir: Path, client_id: str, secret: str) -> None:
        self.queue = f"{system.env['EXCHANGE_NAME']}.example-subscriber-{uuid.uuid4().hex[:8]}"
        self.inbox, self.output, self.workdir = workdir / "inbox.sqlite3", workdir / "subscriber.out", workdir
        self.env = {
            "PATH": system.env["PATH"], "BROKER_URL": system.infra.broker_url,
            "EXCHANGE_NAME": system.env["EXCHANGE_NAME"], "SUBSCRIBER_QUEUE": self.queue,
            "SUBSCRIBER_ROUTING_KEYS": "ledger.#", "GATEWAY_URL": system.gateway_url,
            "SERVICE_CLIENT_ID": client_id, "SERVICE_CLIENT_SECRET": secret, "SUBSCRIBER_INBOX": str(self.inbox),
        }
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self, catch_up_tenants: str = "") -> None:
        started_at = len(self.lines())
        with self.output.open("ab") as out:
            self.process = subprocess.Popen([sys.executable, str(EXAMPLE)], cwd=self.workdir, stdout=out,
                                            stderr=subprocess.STDOUT,
                                            env={**self.env, "SUBSCRIBER_TENANTS": catch_up_tenants})

        async def listening() -> bool:
            assert self.process is not None and self.process.poll() is None, "\n".join(self.lines())
            return any(line.startswith("listening on") for line in self.lines()[started_at:])

        await eventually(listening, timeout=20)  # a long history is read first

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)
            try:
                assert self.process.wait(timeout=10) == 0, "\n".join(self.lines())
            finally:
                if self.process.poll() is None:
                    self.process.kill()
                    self.process.wait()
            self.process = None

    def lines(self) -> list[str]:
        return self.output.read_text().splitlines() if self.output.exists() else []

    def _read(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.inbox) as db:
            return db.execute(sql, args).fetchall()

    def last_applied(self) -> int:
        if not self.inbox.exists():
            return 0
        rows = self._read("SELECT last_sequence FROM streams WHERE tenant_id = ?", TENANT)
        return int(rows[0][0]) if rows else 0

    def sequences(self) -> list[int]:
        return [r[0] for r in self._read("SELECT sequence FROM processed WHERE tenant_id = ? ORDER BY sequence",
                                         TENANT)]

    def balances(self) -> dict[str, int]:
        """The accounts a client sees (the ledger's own, such as the world's, left out)."""
        rows = self._read("SELECT account_id, account_code, balance FROM balances WHERE tenant_id = ?", TENANT)
        return {account: balance for account, code, balance in rows if code == "system" or code.startswith("user:")}

    async def applied_up_to(self, sequence: int) -> None:
        async def reached() -> bool:
            return self.last_applied() >= sequence

        await eventually(reached, timeout=10)


async def queue_depth(broker_url: str, queue: str) -> int:
    connection = await aio_pika.connect(broker_url)
    async with connection:
        declared = await (await connection.channel()).declare_queue(queue, passive=True)
        return int(declared.declaration_result.message_count or 0)


@pytest.fixture
async def subscriber(system: System, tmp_path: Path) -> AsyncIterator[RunningSubscriber]:
    client_id, secret = await service_credentials(system)
    running = RunningSubscriber(system, tmp_path, client_id, secret)
    try:
        yield running
    finally:
        await asyncio.to_thread(running.stop)
        connection = await aio_pika.connect(system.infra.broker_url)
        async with connection:
            await (await connection.channel()).queue_delete(running.queue)


async def in_step(subscriber: RunningSubscriber, service: Client, ava: Client) -> None:
    """The subscriber has applied every event the tenant has, each number once, and its balances are the
    API's. Waited for, and read again while the tenant moves on: other tests' leftovers (a hold expiring)
    may add events of their own meanwhile."""
    async def same() -> bool:
        newest, api = await last_sequence(service), await api_balances(ava)
        mine = subscriber.balances()
        return subscriber.last_applied() == newest == await last_sequence(service) and set(mine) <= set(api) and (
            {account: mine.get(account, 0) for account in api} == api)

    await eventually(same, timeout=10)
    assert subscriber.sequences() == list(range(1, subscriber.last_applied() + 1))  # each number once, none missing


async def test_the_example_catches_up_on_start_fills_a_gap_and_applies_each_event_once(
    system: System, sign_in: Any, http: aiohttp.ClientSession, subscriber: RunningSubscriber
) -> None:
    service = await service_client(system, http)
    ava, ids = await funded_acme(sign_in, http)
    await give(ava, ids, "Ben Carter", "Cleo Park")

    # (1) It starts today: the tenant's history so far comes from the API.
    before = await last_sequence(service)
    await subscriber.start(catch_up_tenants=TENANT)
    await subscriber.applied_up_to(before)
    await in_step(subscriber, service, ava)
    assert any(line.startswith(f"catch-up: tenants/{TENANT} applied ") for line in subscriber.lines())

    # (2) Down longer than its queue kept what was published meanwhile (the purge), and restarted with no
    # catch-up of its own: the first live event after the missing ones reveals the gap.
    await asyncio.to_thread(subscriber.stop)
    stopped_at = subscriber.last_applied()
    await give(ava, ids, "Ben Carter", "Dan Reyes", "Cleo Park")
    missed = await last_sequence(service)

    async def all_queued() -> bool:
        return await queue_depth(system.infra.broker_url, subscriber.queue) >= missed - stopped_at

    await eventually(all_queued, timeout=10)
    connection = await aio_pika.connect(system.infra.broker_url)
    async with connection:
        await (await (await connection.channel()).declare_queue(subscriber.queue, passive=True)).purge()
    await give(ava, ids, "Ben Carter")
    now = await last_sequence(service)
    await subscriber.start()
    await subscriber.applied_up_to(now)
    assert any(line.startswith(f"gap: tenants/{TENANT} applied up to #{stopped_at}, #") for line in subscriber.lines())
    await in_step(subscriber, service, ava)
    lines = len(subscriber.lines())

    # (3) A copy of an event it applied, published again to the exchange (as a redelivery or a replay
    # would bring it); and the same event under a new id, straight into its queue alone (the services'
    # consumers must not see an event they never published): both change nothing.
    status, page = await service.get("/api/v1/events", params={"tenant_id": TENANT, "after_sequence": str(now - 1)})
    assert status == 200, page
    [applied] = page["events"]
    connection = await aio_pika.connect(system.infra.broker_url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.get_exchange(system.env["EXCHANGE_NAME"])
        await exchange.publish(aio_pika.Message(json.dumps(applied).encode()),
                               routing_key=applied["type"].removeprefix("com.smscredits."))
        await channel.default_exchange.publish(
            aio_pika.Message(json.dumps({**applied, "id": str(uuid.uuid4())}).encode()), routing_key=subscriber.queue)

    async def both_ignored() -> bool:
        new = subscriber.lines()[lines:]
        return f"duplicate {applied['id']} ignored" in new and (
            f"tenants/{TENANT} #{int(applied['sequence'])} already applied, ignored" in new)

    await eventually(both_ignored, timeout=10)
    await in_step(subscriber, service, ava)


async def _events(http: aiohttp.ClientSession, base: str, token: str, url: str) -> tuple[int, Any, str | None]:
    async with http.get(base + url, headers={"Authorization": f"Bearer {token}"}) as response:
        return response.status, await response.json(content_type=None), response.headers.get("Link")


async def test_catch_up_pages_in_order_with_a_link_to_the_next_for_a_service_and_a_master_only(
    system: System, sign_in: Any, http: aiohttp.ClientSession
) -> None:
    service = await service_client(system, http)
    ava, ids = await funded_acme(sign_in, http, quantity=100)
    await give(ava, ids, "Ben Carter", "Cleo Park")
    last = await last_sequence(service)
    assert last >= 3

    # Following the Link header from the first page to the last reads every event once, in order.
    assert service.token is not None
    seen: list[dict[str, Any]] = []
    url: str | None = f"/api/v1/events?tenant_id={TENANT}&limit=2"
    while url is not None:
        status, page, link = await _events(http, system.gateway_url, service.token, url)
        assert status == 200, page
        assert page["last_sequence"] >= last
        seen += page["events"]
        if page["next_after_sequence"] is None:
            assert link is None
            url = None
        else:
            assert link == (f'</api/v1/events?tenant_id={TENANT}&limit=2&after_sequence={page["next_after_sequence"]}>;'
                            ' rel="next"')
            url = link[1:link.index(">")]
    assert [int(e["sequence"]) for e in seen][:last] == list(range(1, last + 1))
    assert all(len(e["sequence"]) == 20 and e["specversion"] == "1.0" for e in seen)
    assert all(e["dataschema"].endswith(f"/api/events/schemas/{e['type']}.json") for e in seen)
    # Each envelope exactly as the ledger logged it (and published it).
    ledger = await asyncpg.connect(system.database_url("ledger"))
    try:
        logged = [json.loads(r["envelope"]) for r in await ledger.fetch(
            "SELECT envelope::text FROM event_log WHERE tenant_id = $1 ORDER BY sequence", ACME.id)]
    finally:
        await ledger.close()
    assert seen == logged[:len(seen)]

    # A master reads their own tenant's, named or not; a user may not; another tenant's do not exist.
    assert (await ava.get("/api/v1/events", params={"limit": "3"}))[1]["events"] == seen[:3]
    assert (await ava.get("/api/v1/events", params={"tenant_id": TENANT, "limit": "3"}))[1]["events"] == seen[:3]
    cases = [
        (ava, {"tenant_id": str(GLOBEX.id)}, 404, "not-found"),
        (await sign_in("master@globex.test"), {"tenant_id": TENANT}, 404, "not-found"),
        (await sign_in("ben@acme.test"), {}, 403, "masters-only"),
        (await sign_in("ops@platform.test"), {"tenant_id": TENANT}, 403, "masters-only"),
        (service, {}, 422, "tenant-required"),
        (service, {"tenant_id": str(uuid.uuid4())}, 404, "not-found"),
        (service, {"tenant_id": TENANT, "after_sequence": "-1"}, 400, "malformed-request"),
        (service, {"tenant_id": TENANT, "limit": "0"}, 400, "malformed-request"),
        (service, {"tenant_id": TENANT, "limit": "101"}, 400, "malformed-request"),
        (service, {"tenant_id": "acme"}, 400, "malformed-request"),
        (service, {"tenant_id": TENANT, "after": "3"}, 400, "malformed-request"),
    ]
    for caller, params, expected, slug in cases:
        status, problem = await caller.get("/api/v1/events", params=params)
        assert (status, problem["status"], problem["type"].rsplit("/", 1)[-1]) == (expected, expected, slug), (
            params, problem)
