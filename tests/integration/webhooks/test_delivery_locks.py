"""Transactions that meet on one endpoint: two consumers making its deliveries at once still have them
sent in the order they were made; recording a final failure while the endpoint is deleted does not
deadlock; and every disabling, a replayed delivery's again included, is told by email."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg

from services.webhooks.deliveries import emails, sender, store, usecases
from tests.integration.webhooks.conftest import balance_low, delivery_log, register
from tests.support import eventually

HOLD = 4242  # the advisory lock a test holds to keep one transaction from committing


async def _waiting_on_locks(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval(
        """SELECT count(*) FROM pg_stat_activity
           WHERE datname = current_database() AND wait_event_type = 'Lock'"""))


async def test_deliveries_made_by_two_consumers_at_once_are_sent_in_the_order_they_were_made(
        start_webhooks, receivers):
    webhooks = await start_webhooks(poll_seconds=3600)  # the worker is driven by hand
    tenant = uuid.uuid4()
    receiver = await receivers()
    await register(webhooks, tenant, receiver.url)
    first, second = balance_low(tenant, 1), balance_low(tenant, 2)
    # The first event's transaction stalls after inserting its delivery (position drawn, not committed)
    # for as long as the test holds HOLD: a slow commit in one process while another process goes on.
    await webhooks.pool.execute(f"""
        CREATE FUNCTION stall_first() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.event_id = '{first.id}' THEN PERFORM pg_advisory_xact_lock({HOLD}); END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER stall_first AFTER INSERT ON deliveries FOR EACH ROW EXECUTE FUNCTION stall_first();""")
    holder = await asyncpg.connect(webhooks.dsn)
    try:
        await holder.execute("SELECT pg_advisory_lock($1)", HOLD)
        making_first = asyncio.create_task(usecases.record_events(webhooks.pool, [usecases.Arrived(first, tenant)]))
        await eventually(lambda: _at_least_waiting(holder, 1))
        making_second = asyncio.create_task(
            usecases.record_events(webhooks.pool, [usecases.Arrived(second, tenant)]))

        async def second_done_or_waiting() -> bool:
            return making_second.done() or await _waiting_on_locks(holder) >= 2

        await eventually(second_done_or_waiting)
        # A worker claiming now must not take the second ahead of the first, which is still to commit.
        async with webhooks.pool.acquire() as conn:
            assert [row["event_id"] for row in await store.claim_due(conn, 10, lease_seconds=30)] == []
        await holder.execute("SELECT pg_advisory_unlock($1)", HOLD)
        assert await making_first == 1 and await making_second == 1
    finally:
        await holder.close()
    await usecases.deliver_due(webhooks.pool, webhooks.settings)

    assert receiver.ids() == [str(first.id), str(second.id)]


async def _at_least_waiting(conn: asyncpg.Connection, count: int) -> bool:
    return await _waiting_on_locks(conn) >= count


async def test_a_final_failure_recorded_while_the_endpoint_is_deleted_does_not_deadlock(start_webhooks, receivers):
    webhooks = await start_webhooks(poll_seconds=3600)
    tenant = uuid.uuid4()
    receiver = await receivers()
    endpoint = await register(webhooks, tenant, receiver.url)
    await webhooks.publish(balance_low(tenant))

    async def made() -> bool:
        return bool(await webhooks.pool.fetchval("SELECT count(*) FROM deliveries"))

    await eventually(made)
    await webhooks.pool.execute("UPDATE deliveries SET round_attempts = 10")  # the next failure is the last
    async with webhooks.pool.acquire() as conn:
        [claimed] = await store.claim_due(conn, 1, lease_seconds=30)

    deleter = await asyncpg.connect(webhooks.dsn)
    try:
        async with deleter.transaction():
            # A DELETE of the endpoint, in its two steps: its row is locked, then the cascade reaches its
            # deliveries. Between the two, the worker records the delivery's final failure (which disables
            # the endpoint, so it writes both rows).
            await deleter.execute("SELECT 1 FROM endpoints WHERE id = $1 FOR UPDATE", uuid.UUID(endpoint["id"]))
            recording = asyncio.create_task(usecases.record_outcome(
                webhooks.pool, claimed, sender.Outcome(500, "the receiver answered 500", 3), 1.0))
            await eventually(lambda: _at_least_waiting(deleter, 1))
            await deleter.execute("DELETE FROM endpoints WHERE id = $1", uuid.UUID(endpoint["id"]))
        await recording  # neither was chosen as a deadlock's victim
    finally:
        await deleter.close()
    assert await webhooks.pool.fetchval("SELECT count(*) FROM deliveries") == 0
    assert await webhooks.pool.fetchval("SELECT count(*) FROM attempts") == 0
    assert await webhooks.pool.fetchval("SELECT count(*) FROM email_outbox") == 0


async def test_a_replayed_delivery_that_fails_for_good_again_disables_the_endpoint_again_and_tells_again(
        webhooks, receivers):
    tenant = uuid.uuid4()
    receiver = await receivers(lambda _: 500)
    endpoint = await register(webhooks, tenant, receiver.url, email="ava@acme.test")
    auth = webhooks.auth("master", tenant)
    await webhooks.publish(balance_low(tenant))

    async def owed(count: int) -> bool:
        return await webhooks.pool.fetchval("SELECT count(*) FROM email_outbox") >= count

    await eventually(lambda: owed(1), timeout=20)
    [failed] = await delivery_log(webhooks, tenant, endpoint["id"])
    assert failed["status"] == "failed"
    enabled = await webhooks.client.patch(f"/endpoints/{endpoint['id']}", json={"enabled": True}, headers=auth)
    assert enabled.status == 200
    replayed = await webhooks.client.post(f"/endpoints/{endpoint['id']}/deliveries/{failed['id']}/replay",
                                          headers=auth)
    assert replayed.status == 202

    await eventually(lambda: owed(2), timeout=20)
    [again] = await delivery_log(webhooks, tenant, endpoint["id"])
    assert again["status"] == "failed" and again["attempts"] == 22 and len(receiver.received) == 22
    told = await webhooks.pool.fetch(
        """SELECT o.kind, o.recipient, di.delivery_id FROM email_outbox o JOIN disablings di ON di.id = o.subject_id
           ORDER BY di.disabled_at""")
    assert [(t["kind"], t["recipient"], str(t["delivery_id"])) for t in told] == [
        ("endpoint_disabled", "ava@acme.test", failed["id"])] * 2
    for row in await webhooks.pool.fetch("SELECT * FROM email_outbox"):
        text = (await emails.compose(webhooks.pool, row)).get_content()
        assert receiver.url in text and "in 11 attempts" in text and "answered 500" in text, text
