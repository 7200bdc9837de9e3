"""Webhooks through the gateway with every service running: a master registers a receiver for the
tenant's transactions, a transfer reaches it signed (verified by the independent `standardwebhooks`
package), the delivery log shows it, and nobody but the tenant's masters may touch the webhook."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from standardwebhooks import Webhook

from common.contracts import events
from tests.e2e.conftest import Client
from tests.e2e.test_purchase_flow import GOOD_CARD, pay, start_purchase
from tests.support import eventually


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    """A receiver on 127.0.0.1 (the system runs with WEBHOOK_ALLOW_PRIVATE=true) recording what it gets."""
    received: list[tuple[dict[str, str], bytes]] = []

    async def handle(request: web.Request) -> web.Response:
        received.append((dict(request.headers), await request.read()))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hooks", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}/hooks", received
    await runner.cleanup()


async def test_a_masters_webhook_receives_a_transfer_signed_and_logs_its_delivery(
        sign_in, http: aiohttp.ClientSession, receiver: tuple[str, list[tuple[dict[str, str], bytes]]]):
    url, received = receiver
    master, ben, gail = [await sign_in(email) for email in ("master@acme.test", "ben@acme.test",
                                                            "master@globex.test")]
    request = {"url": url, "event_types": [events.TRANSACTION_POSTED], "description": "Acme CRM"}

    status, body = await ben.post("/api/v1/webhooks", request)
    assert status == 403 and body["type"].endswith("/masters-only"), body
    status, created = await master.post("/api/v1/webhooks", request, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert status == 201 and created["secret"].startswith("whsec_") and created["enabled"], created
    webhook = f"/api/v1/webhooks/{created['id']}"
    assert (await ben.get(webhook))[0] == 403
    assert (await gail.get(webhook))[0] == 404  # another tenant's: as if it did not exist
    status, listed = await master.get("/api/v1/webhooks")
    assert status == 200 and created["id"] in {w["id"] for w in listed} and all("secret" not in w for w in listed)

    transfer = await _fund_and_transfer(master, http)

    def transfer_deliveries() -> list[tuple[dict[str, str], bytes]]:
        return [(h, b) for h, b in received if json.loads(b)["data"]["transaction_id"] == transfer["id"]]

    async def arrived() -> bool:
        return bool(transfer_deliveries())

    await eventually(arrived, timeout=15)
    headers, body = transfer_deliveries()[0]
    envelope = Webhook(created["secret"]).verify(body, headers)
    assert envelope["type"] == events.TRANSACTION_POSTED and headers["webhook-id"] == envelope["id"]
    assert envelope["subject"].startswith("tenants/") and envelope["sequence"]

    async def logged() -> bool:
        status, page = await master.get(f"{webhook}/deliveries")
        assert status == 200, page
        return any(d["event_id"] == envelope["id"] and d["status"] == "delivered" for d in page["items"])

    await eventually(logged, timeout=10)
    assert (await ben.get(f"{webhook}/deliveries"))[0] == 403
    status, problem = await master.post("/api/v1/webhooks", {**request, "event_types": ["com.smscredits.nope"]})
    assert status == 422 and "com.smscredits.nope" in problem["detail"], problem


async def _fund_and_transfer(master: Client, http: aiohttp.ClientSession) -> dict[str, Any]:
    _, accounts = await master.get("/api/v1/accounts")
    ids = {a["name"]: a["id"] for a in accounts}
    funded = await start_purchase(master, ids["System Credits"], 100)
    await pay(http, funded["checkout_url"], GOOD_CARD)

    async def credited() -> bool:
        return (await master.get(f"/api/v1/purchases/{funded['id']}"))[1]["status"] == "credited"

    await eventually(credited, timeout=10)
    body = {"from_account": ids["System Credits"], "to_account": ids["Ben Carter"], "quantity": 3,
            "accept_terms": True, "note": "webhook e2e"}
    status, posted = await master.post("/api/v1/transfers", body, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert status == 201, posted
    return dict(posted)
