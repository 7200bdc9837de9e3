"""The campaign's outside system: a webhook receiver on 127.0.0.1 (one endpoint per tenant) that refuses a
share of the deliveries it is offered, so that they are retried through the faults, checks every signature
with an independent implementation (the `standardwebhooks` package) and records what arrived."""

from __future__ import annotations

import json
import random
import uuid
from collections import Counter
from dataclasses import dataclass, field

from aiohttp import web
from standardwebhooks import Webhook, WebhookVerificationError

from tests.chaos.checks import SystemUnderTest, Verdict, sample
from tests.chaos.driver import Client, World
from tests.chaos.infra import free_port

WANTED = ("com.smscredits.ledger.transaction.posted",)


@dataclass
class Receiver:
    rng: random.Random
    refuse_share: float = 0.2
    secrets: dict[str, str] = field(default_factory=dict)  # tenant -> the endpoint's signing secret
    received: dict[str, Counter[str]] = field(default_factory=dict)  # tenant -> event id -> times accepted
    refused: int = 0
    bad_signatures: list[str] = field(default_factory=list)
    port: int = field(default_factory=free_port)
    _runner: web.AppRunner | None = None

    def url(self, tenant: str) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/{tenant}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hooks/{tenant}", self._deliver)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _deliver(self, request: web.Request) -> web.Response:
        tenant = request.match_info["tenant"]
        body = await request.read()
        secret = self.secrets.get(tenant)
        if secret is None:
            return web.Response(status=404)
        try:
            Webhook(secret).verify(body, dict(request.headers))
        except WebhookVerificationError as exc:
            self.bad_signatures.append(f"{tenant}: {exc}")
            return web.Response(status=400)
        if self.rng.random() < self.refuse_share:
            self.refused += 1
            return web.Response(status=503)  # a receiver having a bad moment: the sender must try again
        event = json.loads(body)
        self.received.setdefault(tenant, Counter())[event["id"]] += 1
        return web.Response(status=204)


async def register(client: Client, world: World, receiver: Receiver, system: SystemUnderTest) -> dict[str, int]:
    """Each tenant's master subscribes the receiver to its transactions; answers, per tenant id, the last
    event number the ledger had once the subscription existed: every later one must reach the receiver."""
    for person in ("acme-master", "globex-master"):
        master = world.people[person]
        status, endpoint = await client.send(None, "POST", "/api/v1/webhooks", master.token, key=str(uuid.uuid4()),
                                             body={"url": receiver.url(master.tenant_id), "event_types": WANTED})
        assert status == 201, endpoint
        receiver.secrets[master.tenant_id] = endpoint["secret"]
    ledger = await system.connect("ledger")
    try:
        rows = await ledger.fetch("SELECT tenant_id::text, last_sequence FROM event_streams")
    finally:
        await ledger.close()
    return {tenant: dict(rows).get(tenant, 0) for tenant in world.tenants.values()}


async def verdicts(system: SystemUnderTest, receiver: Receiver, since: dict[str, int]) -> list[Verdict]:
    ledger = await system.connect("ledger")
    try:
        logged = await ledger.fetch(
            "SELECT tenant_id::text, sequence, event_id::text FROM event_log WHERE type = $1", WANTED[0])
    finally:
        await ledger.close()
    webhooks = await system.connect("webhooks")
    try:
        failed = await webhooks.fetchval("SELECT count(*) FROM deliveries WHERE status = 'failed'")
        disabled = await webhooks.fetchval("SELECT count(*) FROM endpoints WHERE NOT enabled")
    finally:
        await webhooks.close()
    owed = {(r["tenant_id"], r["event_id"]) for r in logged if r["sequence"] > since.get(r["tenant_id"], 0)}
    posted = {(r["tenant_id"], r["event_id"]) for r in logged}
    arrived = {(tenant, event) for tenant, counts in receiver.received.items() for event in counts}
    again = sum(n - 1 for counts in receiver.received.values() for n in counts.values())
    missing, unknown = owed - arrived, arrived - posted
    return [
        Verdict("every webhook delivered at least once, none lost", bool(owed) and not missing,
                f"{len(owed)} transactions owed, {len(missing)} never arrived {sample(missing)}; "
                f"{receiver.refused} deliveries refused by the receiver and retried, {again} arrived again"),
        Verdict("the receiver got only what the ledger posted, each signed",
                not unknown and not receiver.bad_signatures,
                f"unknown {sample(unknown)}; bad signatures {sample(receiver.bad_signatures)}"),
        Verdict("no webhook delivery was given up, no endpoint disabled", not failed and not disabled,
                f"{failed} failed, {disabled} disabled"),
    ]
