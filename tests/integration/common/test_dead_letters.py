"""Parked events: listed with their reasons, replayed into their own queue after the fix, applied once;
one still unprocessable is parked again rather than replayed in a loop."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import asyncpg

from common.bus import Broker, PoisonEvent
from common.contracts.events import Event
from common.db import create_pool
from common.dead_letters import parked, replay
from common.inbox import first_delivery
from tests.conftest import Infra
from tests.integration.common.conftest import posted_event
from tests.support import eventually

QUEUE = "reporting.ledger-events"
CONSUMER = "dead-letter-test"


async def _publish(broker: Broker, event: Event) -> None:
    await broker.publish(event.model_dump(mode="json", exclude_none=True), event.routing_key)


async def test_a_parked_event_is_replayed_after_the_fix_and_applied_once(
        infra: Infra, broker: Broker, exchange_name: str, database: str, conn: asyncpg.Connection):
    pool = await create_pool(database, 2)
    known_tenants: set[uuid.UUID] = set()

    async def apply(event: Event) -> None:
        tenant = uuid.UUID(str(event.data["tenant_id"]))
        if tenant not in known_tenants:  # the bug: a tenant this consumer was never told of
            raise PoisonEvent(f"tenant {tenant} is unknown here")
        async with pool.acquire() as c, c.transaction():
            if await first_delivery(c, CONSUMER, event.id):
                await c.execute("INSERT INTO effects (event_id) VALUES ($1)", event.id)

    try:
        await broker.consume(QUEUE, apply)
        event = posted_event()
        await _publish(broker, event)

        async def is_parked() -> bool:
            return len(await parked(infra.broker_url, exchange_name, QUEUE)) == 1

        await eventually(is_parked)
        [message] = await parked(infra.broker_url, exchange_name, QUEUE)
        assert message.message_id == str(event.id) and "is unknown here" in message.reason
        assert message.event_type == event.type

        known_tenants.add(uuid.UUID(str(event.data["tenant_id"])))  # the fix
        done = await replay(infra.broker_url, exchange_name, QUEUE)
        assert done.parked == 1 and [m.message_id for m in done.replayed] == [str(event.id)]

        async def applied() -> bool:
            return bool(await conn.fetchval("SELECT count(*) FROM effects WHERE event_id = $1", event.id))

        await eventually(applied)
        assert await parked(infra.broker_url, exchange_name, QUEUE) == []
        assert await conn.fetchval("SELECT count(*) FROM effects") == 1
    finally:
        await pool.close()


def _command(infra: Infra, exchange: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BROKER_URL": infra.broker_url, "EXCHANGE_NAME": exchange}
    return subprocess.run([sys.executable, "-m", "common.dead_letters", *args], env=env, capture_output=True,
                          text=True, timeout=60, check=False)


async def test_the_command_replays_once_what_is_still_poison_and_parks_it_again(
        infra: Infra, broker: Broker, exchange_name: str):
    deliveries: list[uuid.UUID] = []

    async def refuse(event: Event) -> None:
        deliveries.append(event.id)
        raise PoisonEvent("still broken")

    await broker.consume(QUEUE, refuse)
    for _ in range(2):
        await _publish(broker, posted_event())

    async def both_parked() -> bool:
        return len(await parked(infra.broker_url, exchange_name, QUEUE)) == 2

    await eventually(both_parked)
    listed = _command(infra, exchange_name, "list", QUEUE)
    assert listed.returncode == 0 and "2 message(s) parked" in listed.stdout and "still broken" in listed.stdout

    replayed = _command(infra, exchange_name, "replay", QUEUE)
    assert replayed.returncode == 0, replayed.stderr
    assert "replayed 2 of 2 parked message(s)" in replayed.stdout

    async def parked_again() -> bool:
        found = await parked(infra.broker_url, exchange_name, QUEUE)
        return len(found) == 2 and all(m.replayed_before == 1 for m in found)

    await eventually(parked_again)
    assert len(deliveries) == 4  # each delivered once, replayed once: no loop

    limited = _command(infra, exchange_name, "replay", QUEUE, "--limit", "1")
    assert "replayed 1 of 2" in limited.stdout
    unknown = _command(infra, exchange_name, "replay", "no.such-queue")
    assert unknown.returncode == 2 and "reporting.ledger-events" in unknown.stderr
