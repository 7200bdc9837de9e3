"""Deliveries from the bus to real receivers: signed, retried, in order per endpoint, at least once and
never twice for one bus event, disabled after the whole schedule fails, replayed on request."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from standardwebhooks import Webhook

from tests.harness import RunningService
from tests.integration.webhooks.conftest import balance_low, delivery_log, register
from tests.support import eventually, free_port


async def test_a_public_event_is_delivered_once_signed_with_the_envelope_as_body(webhooks, receivers):
    tenant = uuid.uuid4()
    receiver = await receivers()
    endpoint = await register(webhooks, tenant, receiver.url)
    other_tenants = await receivers()
    await register(webhooks, uuid.uuid4(), other_tenants.url)
    event = balance_low(tenant)
    await webhooks.publish(event)

    await eventually(lambda: _at_least(receiver, 1))
    [got] = receiver.received
    # Verified by an independent implementation of Standard Webhooks, with the secret shown at creation.
    envelope = Webhook(endpoint["secret"]).verify(got.body, got.headers)
    assert got.webhook_id == str(event.id) and got.headers["Content-Type"] == "application/json"
    assert envelope["id"] == str(event.id) and envelope["type"] == "com.smscredits.ledger.balance.low"
    assert envelope["data"]["tenant_id"] == str(tenant) and envelope["specversion"] == "1.0"
    assert got.body == event.to_json()

    async def logged() -> bool:
        return (await delivery_log(webhooks, tenant, endpoint["id"]))[0]["status"] == "delivered"

    await eventually(logged)
    [entry] = await delivery_log(webhooks, tenant, endpoint["id"])
    assert entry["event_id"] == str(event.id) and entry["attempts"] == 1 and entry["last_status_code"] == 200
    assert entry["event_type"] == event.type and entry["delivered_at"] and entry["next_attempt_at"] is None
    assert other_tenants.received == []


async def test_a_receiver_failing_twice_gets_it_on_the_third_attempt_and_every_attempt_is_recorded(
        webhooks, receivers):
    tenant = uuid.uuid4()
    receiver = await receivers(lambda n: 500 if n <= 2 else 204)
    endpoint = await register(webhooks, tenant, receiver.url)
    event = balance_low(tenant)
    await webhooks.publish(event)

    await eventually(lambda: _delivered(webhooks, tenant, endpoint["id"], 1))
    assert receiver.ids() == [str(event.id)] * 3  # the same webhook-id each time
    [entry] = await delivery_log(webhooks, tenant, endpoint["id"])
    assert entry["attempts"] == 3 and entry["last_status_code"] == 204 and entry["last_error"] is None
    attempts = await webhooks.pool.fetch(
        "SELECT status_code, error, duration_ms FROM attempts WHERE delivery_id = $1 ORDER BY id",
        uuid.UUID(entry["id"]))
    assert [a["status_code"] for a in attempts] == [500, 500, 204]
    assert attempts[0]["error"] == "the receiver answered 500" and all(a["duration_ms"] >= 0 for a in attempts)


async def test_a_redirect_is_not_followed_but_counted_as_a_failed_attempt(webhooks, receivers):
    tenant = uuid.uuid4()
    elsewhere = await receivers()
    receiver = await receivers(lambda n: 307 if n == 1 else 200)
    receiver.location = elsewhere.url
    endpoint = await register(webhooks, tenant, receiver.url)
    await webhooks.publish(balance_low(tenant))

    await eventually(lambda: _delivered(webhooks, tenant, endpoint["id"], 1))
    assert len(receiver.received) == 2 and elsewhere.received == []
    [first, _] = await webhooks.pool.fetch("SELECT status_code, error FROM attempts ORDER BY id")
    assert (first["status_code"], first["error"]) == (307, "the receiver answered 307")


async def test_an_endpoints_events_arrive_in_order_a_failure_holding_back_the_later_ones(webhooks, receivers):
    tenant = uuid.uuid4()
    receiver = await receivers(lambda n: 503 if n <= 3 else 200)
    endpoint = await register(webhooks, tenant, receiver.url)
    sent = [balance_low(tenant, available=n) for n in range(5)]
    for event in sent:
        await webhooks.publish(event)

    await eventually(lambda: _delivered(webhooks, tenant, endpoint["id"], 5))
    first = str(sent[0].id)
    # The first failed three times; nothing behind it went before it got through.
    assert receiver.ids() == [first, first, first, *(str(e.id) for e in sent)]


async def test_a_master_replays_one_delivery_and_then_everything_since_a_time(webhooks, receivers):
    tenant = uuid.uuid4()
    receiver = await receivers()
    endpoint = await register(webhooks, tenant, receiver.url)
    auth = webhooks.auth("master", tenant)
    sent = [balance_low(tenant, available=n) for n in range(3)]
    for event in sent:
        await webhooks.publish(event)
        await eventually(lambda: _at_least(receiver, sent.index(event) + 1))  # noqa: B023
    await eventually(lambda: _delivered(webhooks, tenant, endpoint["id"], 3))
    log = {entry["event_id"]: entry for entry in await delivery_log(webhooks, tenant, endpoint["id"])}
    second = log[str(sent[1].id)]

    response = await webhooks.client.post(f"/endpoints/{endpoint['id']}/deliveries/{second['id']}/replay",
                                          headers=auth)
    assert response.status == 202, await response.text()
    await eventually(lambda: _at_least(receiver, 4))
    assert receiver.ids()[3] == str(sent[1].id)
    Webhook(endpoint["secret"]).verify(receiver.received[3].body, receiver.received[3].headers)

    await eventually(lambda: _delivered(webhooks, tenant, endpoint["id"], 3))
    response = await webhooks.client.post(f"/endpoints/{endpoint['id']}/replay", json={"since": second["created_at"]},
                                          headers=auth)
    assert response.status == 202 and await response.json() == {"replayed": 2}
    await eventually(lambda: _at_least(receiver, 6))
    assert receiver.ids()[4:] == [str(sent[1].id), str(sent[2].id)]
    [entry] = [e for e in await delivery_log(webhooks, tenant, endpoint["id"]) if e["id"] == second["id"]]
    assert entry["attempts"] == 3

    unknown = await webhooks.client.post(f"/endpoints/{endpoint['id']}/deliveries/{uuid.uuid4()}/replay",
                                         headers=auth)
    assert unknown.status == 404 and (await unknown.json())["type"] == "/problems/webhook-delivery-not-found"


async def test_after_the_whole_schedule_fails_the_endpoint_is_disabled_and_its_creator_owed_an_email(
        webhooks, receivers):
    tenant = uuid.uuid4()
    receiver = await receivers(lambda _: 500)
    endpoint = await register(webhooks, tenant, receiver.url, email="ava@acme.test")
    first, second = balance_low(tenant, 1), balance_low(tenant, 2)
    await webhooks.publish(first)
    await webhooks.publish(second)

    async def disabled() -> bool:
        response = await webhooks.client.get(f"/endpoints/{endpoint['id']}", headers=webhooks.auth("master", tenant))
        return (await response.json())["enabled"] is False

    await eventually(disabled, timeout=20)
    log = {e["event_id"]: e for e in await delivery_log(webhooks, tenant, endpoint["id"])}
    assert log[str(first.id)]["status"] == "failed" and log[str(first.id)]["attempts"] == 11
    # The second waited behind the first and waits still, for the endpoint to be enabled again.
    assert log[str(second.id)]["status"] == "pending" and log[str(second.id)]["attempts"] == 0
    assert set(receiver.ids()) == {str(first.id)} and len(receiver.received) == 11
    emails = await webhooks.pool.fetch("SELECT kind, recipient, tenant_id, subject_id FROM email_outbox")
    assert [(e["kind"], e["recipient"], e["tenant_id"]) for e in emails] == [("endpoint_disabled", "ava@acme.test",
                                                                              tenant)]
    # The email tells of the disabling, which names the delivery that failed.
    disabled_by = await webhooks.pool.fetchval("SELECT delivery_id FROM disablings WHERE id = $1",
                                               emails[0]["subject_id"])
    assert str(disabled_by) == log[str(first.id)]["id"]

    # Fixed and enabled again: what waited is delivered, and the failed one can be replayed.
    receiver.answer = lambda _: 200
    response = await webhooks.client.patch(f"/endpoints/{endpoint['id']}", json={"enabled": True},
                                           headers=webhooks.auth("master", tenant))
    assert response.status == 200 and (await response.json())["disabled_reason"] is None
    await eventually(lambda: _at_least(receiver, 12))
    assert receiver.ids()[11] == str(second.id)


async def test_a_receiver_down_for_a_while_catches_up_with_everything_in_order(webhooks, receivers):
    tenant = uuid.uuid4()
    port = free_port()
    endpoint = await register(webhooks, tenant, f"http://127.0.0.1:{port}/hooks")
    sent = [balance_low(tenant, available=n) for n in range(4)]
    for event in sent:
        await webhooks.publish(event)

    async def tried_while_down() -> bool:
        log = await delivery_log(webhooks, tenant, endpoint["id"])
        return len(log) == 4 and max(e["attempts"] for e in log) >= 3

    await eventually(tried_while_down)
    # Each delivery not yet through is still pending (the schedule is far from spent), none is lost.
    assert {e["status"] for e in await delivery_log(webhooks, tenant, endpoint["id"])} == {"pending"}
    receiver = await receivers(port=port)
    await eventually(lambda: _delivered(webhooks, tenant, endpoint["id"], 4), timeout=20)
    assert receiver.ids() == [str(e.id) for e in sent]


async def test_an_event_the_bus_delivers_twice_makes_one_delivery(webhooks, receivers):
    tenant = uuid.uuid4()
    receiver = await receivers()
    endpoint = await register(webhooks, tenant, receiver.url)
    event, marker = balance_low(tenant), balance_low(tenant, 99)
    await webhooks.publish(event)
    await webhooks.publish(event)
    await webhooks.publish(marker)  # the queue is in order: once this is through, so are both copies

    await eventually(lambda: _delivered(webhooks, tenant, endpoint["id"], 2))
    assert receiver.ids() == [str(event.id), str(marker.id)]
    assert await webhooks.pool.fetchval("SELECT count(*) FROM deliveries") == 2


async def test_two_workers_at_once_send_each_delivery_once(start_webhooks, webhooks, receivers):
    second_process = await start_webhooks(database_url=webhooks.dsn)
    tenant = uuid.uuid4()
    targets = [await receivers() for _ in range(3)]
    endpoints = [await register(webhooks, tenant, receiver.url) for receiver in targets]
    sent = [balance_low(tenant, available=n) for n in range(15)]
    for event in sent:
        await (webhooks if event.data["available"] % 2 else second_process).publish(event)

    for endpoint in endpoints:
        await eventually(lambda: _delivered(webhooks, tenant, endpoint["id"], 15), timeout=20)  # noqa: B023
    await asyncio.sleep(0.3)  # time for a double send, were there one, to arrive
    for receiver in targets:
        # Both processes consume the queue and both run the worker on one database: every event reaches
        # every endpoint, and none twice.
        assert sorted(receiver.ids()) == sorted(str(e.id) for e in sent)
        assert len(receiver.ids()) == 15


async def _at_least(receiver: Any, count: int) -> bool:
    return len(receiver.received) >= count


async def _delivered(service: RunningService, tenant: uuid.UUID, endpoint_id: str, count: int) -> bool:
    log = await delivery_log(service, tenant, endpoint_id)
    return sum(1 for e in log if e["status"] == "delivered") >= count
