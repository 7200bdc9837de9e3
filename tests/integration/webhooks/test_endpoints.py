"""Endpoints over the service's HTTP API: masters of their own tenant only, validated, secrets rotated
with an overlap during which both sign."""

from __future__ import annotations

import uuid

from standardwebhooks import Webhook

from common.contracts import events
from tests.integration.webhooks.conftest import balance_low, register
from tests.support import eventually


async def test_a_master_manages_their_tenants_endpoints_and_nobody_else_sees_them(webhooks):
    tenant = uuid.uuid4()
    master = webhooks.auth("master", tenant)
    created = await register(webhooks, tenant, "https://hooks.example.com/in", (events.TRANSACTION_POSTED,))
    assert created["secret"].startswith("whsec_") and created["enabled"] is True
    endpoint_url = f"/endpoints/{created['id']}"

    listed = await (await webhooks.client.get("/endpoints", headers=master)).json()
    assert [e["id"] for e in listed] == [created["id"]] and "secret" not in listed[0]
    one = await webhooks.client.get(endpoint_url, headers=master)
    assert one.status == 200 and "secret" not in await one.json()
    stored = await webhooks.pool.fetchrow("SELECT created_by, creator_email FROM endpoints")
    assert stored["creator_email"] == "ava@acme.test" and stored["created_by"] is not None

    for stranger in (webhooks.auth("master", uuid.uuid4()),):
        assert (await webhooks.client.get(endpoint_url, headers=stranger)).status == 404
        assert await (await webhooks.client.get("/endpoints", headers=stranger)).json() == []
    for not_master in (webhooks.auth("user", tenant), webhooks.auth("service", tenant), webhooks.auth("operator")):
        refused = await webhooks.client.get("/endpoints", headers=not_master)
        assert refused.status == 403 and (await refused.json())["type"] == "/problems/masters-only"

    changed = await webhooks.client.patch(endpoint_url, json={"enabled": False, "description": "CRM"}, headers=master)
    body = await changed.json()
    assert changed.status == 200 and body["enabled"] is False and body["description"] == "CRM"
    assert body["event_types"] == [events.TRANSACTION_POSTED]
    assert (await webhooks.client.delete(endpoint_url, headers=master)).status == 204
    assert (await webhooks.client.get(endpoint_url, headers=master)).status == 404
    assert (await webhooks.client.get("/endpoints/not-a-uuid", headers=master)).status == 404


async def test_bad_urls_and_unknown_or_internal_event_types_are_refused_clearly(webhooks):
    tenant = uuid.uuid4()
    master = webhooks.auth("master", tenant)

    async def create(url: str, types: list[str]) -> tuple[int, dict]:
        response = await webhooks.client.post(
            "/endpoints", json={"url": url, "event_types": types, "creator_email": "a@b.test"}, headers=master)
        return response.status, await response.json()

    status, body = await create("https://hooks.example.com/", [events.BALANCE_LOW, "com.smscredits.nope"])
    assert status == 422 and body["type"] == "/problems/webhook-event-type-unknown"
    assert "com.smscredits.nope" in body["detail"] and body["errors"][0]["field"] == "event_types.1"
    status, body = await create("https://hooks.example.com/", [events.USER_CHANGED])  # internal
    assert status == 422 and events.USER_CHANGED in body["detail"]
    for url in ("ftp://hooks.example.com/", "https://user:pw@hooks.example.com/", "https://"):
        status, body = await create(url, [events.BALANCE_LOW])
        assert status == 422 and body["type"] == "/problems/webhook-url-invalid", (url, body)
    status, body = await create("https://hooks.example.com/" + "a" * 2100, [events.BALANCE_LOW])
    assert status == 400
    assert await webhooks.pool.fetchval("SELECT count(*) FROM endpoints") == 0


async def test_the_same_idempotency_key_makes_one_endpoint_and_one_rotation(webhooks):
    tenant = uuid.uuid4()
    headers = {**webhooks.auth("master", tenant), "Idempotency-Key": "k1"}
    order = {"url": "https://hooks.example.com/", "event_types": [events.BALANCE_LOW], "creator_email": "a@b.test"}
    first = await (await webhooks.client.post("/endpoints", json=order, headers=headers)).json()
    again = await (await webhooks.client.post("/endpoints", json=order, headers=headers)).json()
    assert again == first
    rotate = f"/endpoints/{first['id']}/rotate-secret"
    rotated = await (await webhooks.client.post(rotate, headers={**headers, "Idempotency-Key": "r1"})).json()
    rotated_again = await (await webhooks.client.post(rotate, headers={**headers, "Idempotency-Key": "r1"})).json()
    assert rotated == rotated_again and rotated["secret"] != first["secret"]
    assert await webhooks.pool.fetchval("SELECT previous_secret FROM endpoints") == first["secret"]


async def test_after_a_rotation_deliveries_verify_with_the_old_and_the_new_secret(webhooks, receivers):
    tenant = uuid.uuid4()
    receiver = await receivers()
    created = await register(webhooks, tenant, receiver.url)
    response = await webhooks.client.post(f"/endpoints/{created['id']}/rotate-secret",
                                          headers=webhooks.auth("master", tenant))
    rotated = await response.json()
    assert response.status == 200 and rotated["secret"] != created["secret"]

    await webhooks.publish(balance_low(tenant))
    await eventually(lambda: _received(receiver, 1))
    [got] = receiver.received
    Webhook(rotated["secret"]).verify(got.body, got.headers)
    Webhook(created["secret"]).verify(got.body, got.headers)

    # Once the overlap is over, only the new secret signs.
    await webhooks.pool.execute("UPDATE endpoints SET previous_secret_expires_at = now() - interval '1 second'")
    await webhooks.publish(balance_low(tenant))
    await eventually(lambda: _received(receiver, 2))
    assert len(receiver.received[1].headers["webhook-signature"].split(" ")) == 1
    Webhook(rotated["secret"]).verify(receiver.received[1].body, receiver.received[1].headers)


async def _received(receiver, count: int) -> bool:
    return len(receiver.received) >= count
