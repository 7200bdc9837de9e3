"""The delivery worker's claims, driven by hand (the service's own worker polls only once an hour here):
several workers at once send each delivery once and each endpoint's in order, and a claim whose worker
died is taken over once its lease runs out."""

from __future__ import annotations

import asyncio
import uuid

from services.webhooks.deliveries import store, usecases
from tests.integration.webhooks.conftest import balance_low, delivery_log, register
from tests.support import eventually


async def _made(service, count: int) -> bool:
    return await service.pool.fetchval("SELECT count(*) FROM deliveries") >= count


async def test_four_workers_at_once_send_each_delivery_once_and_each_endpoint_in_order(start_webhooks, receivers):
    # One claim at a time each, so that the four contend for the endpoints' heads all along.
    webhooks = await start_webhooks(poll_seconds=3600, batch_size=1)
    tenant = uuid.uuid4()
    targets = [await receivers() for _ in range(4)]
    endpoints = [await register(webhooks, tenant, receiver.url) for receiver in targets]
    sent = [balance_low(tenant, available=n) for n in range(12)]
    for event in sent:
        await webhooks.publish(event)
    await eventually(lambda: _made(webhooks, 4 * 12))

    attempts = await asyncio.gather(*(usecases.deliver_due(webhooks.pool, webhooks.settings) for _ in range(4)))

    assert sum(attempts) == 4 * 12  # no delivery attempted twice
    for receiver, endpoint in zip(targets, endpoints, strict=True):
        assert receiver.ids() == [str(e.id) for e in sent]
        assert {e["status"] for e in await delivery_log(webhooks, tenant, endpoint["id"])} == {"delivered"}


async def test_a_claim_is_exclusive_until_its_lease_runs_out(start_webhooks, receivers):
    webhooks = await start_webhooks(poll_seconds=3600)
    tenant = uuid.uuid4()
    receiver = await receivers()
    await register(webhooks, tenant, receiver.url)
    first, second = balance_low(tenant, 1), balance_low(tenant, 2)
    await webhooks.publish(first)
    await webhooks.publish(second)
    await eventually(lambda: _made(webhooks, 2))

    async with webhooks.pool.acquire() as conn:
        [claimed] = await store.claim_due(conn, 10, lease_seconds=0.5)  # a worker that then dies
        assert claimed["event_id"] == first.id
        assert await store.claim_due(conn, 10, lease_seconds=0.5) == []  # nor the one behind it
        await asyncio.sleep(0.6)
        [again] = await store.claim_due(conn, 10, lease_seconds=30)
    assert again["id"] == claimed["id"]
