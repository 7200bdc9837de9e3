"""The delivery worker's claims, driven by hand (the service's own worker polls only once an hour here):
several workers at once send each delivery once and each endpoint's in order, and a claim whose worker
died is taken over once its lease runs out."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

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


def _rows_read_from(plan: dict[str, Any], relation: str) -> int:
    """Every row a plan's nodes on `relation` produced or filtered out, over all their loops."""
    node_rows = 0
    if plan.get("Relation Name") == relation:
        removed = plan.get("Rows Removed by Filter", 0) + plan.get("Rows Removed by Index Recheck", 0)
        seen = plan["Actual Rows"] + removed
        node_rows = seen * plan["Actual Loops"]
    return node_rows + sum(_rows_read_from(child, relation) for child in plan.get("Plans", ()))


async def test_a_claim_reads_each_endpoints_first_pending_delivery_not_every_pending_one(start_webhooks, receivers):
    # The case that made catching up quadratic: an endpoint whose head waits for its retry, thousands behind
    # it. A claim that asked every pending row whether an earlier one exists read all of them, every time.
    webhooks = await start_webhooks(poll_seconds=3600)
    tenant = uuid.uuid4()
    waiting = await register(webhooks, tenant, (await receivers()).url)
    ready = await register(webhooks, tenant, (await receivers()).url)
    behind = 2000
    async with webhooks.pool.acquire() as conn:
        events_ids = [uuid.uuid4() for _ in range(behind + 1)]
        await conn.execute(
            "INSERT INTO events (id, tenant_id, type, body) SELECT e, $2, 'test', '{}' FROM unnest($1::uuid[]) e",
            events_ids, tenant)
        await conn.execute(
            """INSERT INTO deliveries (id, endpoint_id, event_id, next_attempt_at)
               SELECT gen_random_uuid(), $2, e, now() + CASE WHEN n = 1 THEN interval '1 hour' ELSE interval '0' END
               FROM unnest($1::uuid[]) WITH ORDINALITY AS t(e, n) ORDER BY n""",
            events_ids, uuid.UUID(waiting["id"]))
        await conn.execute(
            "INSERT INTO deliveries (id, endpoint_id, event_id) VALUES (gen_random_uuid(), $1, $2)",
            uuid.UUID(ready["id"]), events_ids[-1])
        await conn.execute("ANALYZE deliveries")

        explained = conn.transaction()  # EXPLAIN ANALYZE runs the claim: its lease is rolled back after
        await explained.start()
        # Nested loops, as the planner picks them once the table is large: on 2,000 rows it may as well hash
        # the whole table, which says nothing of what the claim's own search reads.
        await conn.execute("SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off")
        plan_text = await conn.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) {store.CLAIM_DUE}", 10, 30.0)
        await explained.rollback()
        claimed = await store.claim_due(conn, 10, lease_seconds=30)

    assert [row["endpoint_id"] for row in claimed] == [uuid.UUID(ready["id"])]  # `waiting`'s head is not due
    plan = json.loads(plan_text) if isinstance(plan_text, str) else plan_text  # the pool may decode json itself
    rows_read = _rows_read_from(plan[0]["Plan"], "deliveries")
    assert rows_read <= 20, f"a claim read {rows_read} deliveries with {behind} pending behind one head"
