"""The figures an operator's alerts read (common.event_metrics), from a real outbox and a real consumer: how
many events the broker has not confirmed and how old the oldest is, and how long after its time each event
was applied, by queue."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
from prometheus_client import REGISTRY

from common import event_metrics
from common.bus import Broker
from common.contracts.events import Event
from common.db import create_pool
from tests.integration.common.conftest import posted_event

QUEUE = "reporting.ledger-events"


async def test_the_outbox_reports_what_the_broker_has_not_confirmed_and_how_old_it_is(
        database: str, conn: asyncpg.Connection):
    published, waiting = [uuid.uuid4()], [uuid.uuid4() for _ in range(3)]
    await conn.executemany(
        "INSERT INTO outbox (event_id, routing_key, envelope, created_at, published_at) VALUES ($1, 'x', '{}', $2, $3)",
        [(published[0], datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC))]
        + [(event, datetime.now(UTC) - timedelta(seconds=90 - n), None) for n, event in enumerate(waiting)],
    )
    pool = await create_pool(database, 1)
    try:
        await event_metrics.sample_outbox(pool)
        assert _sample("outbox_pending_events") == 3
        assert 90 <= _sample("outbox_oldest_pending_seconds") < 120  # the oldest waiting, not the published one
        await conn.execute("UPDATE outbox SET published_at = now()")
        await event_metrics.sample_outbox(pool)
        assert (_sample("outbox_pending_events"), _sample("outbox_oldest_pending_seconds")) == (0, 0)
    finally:
        await pool.close()


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _lag_count(queue: str) -> float:
    return _sample("events_consumed_lag_seconds_count", queue=queue)


async def test_a_consumer_reports_how_long_after_its_time_each_event_was_applied(broker: Broker):
    applied: list[Event] = []
    before = _lag_count(QUEUE)
    await broker.consume(QUEUE, lambda event: _record(applied, event))
    late = posted_event().model_copy(update={"time": datetime.now(UTC) - timedelta(seconds=40)})
    await broker.publish(late.model_dump(mode="json", exclude_none=True), late.routing_key)
    for _ in range(200):
        if _lag_count(QUEUE) > before:
            break
        await asyncio.sleep(0.05)
    assert [event.id for event in applied] == [late.id]
    assert _lag_count(QUEUE) == before + 1
    within_30 = _sample("events_consumed_lag_seconds_bucket", queue=QUEUE, le="30.0")
    within_60 = _sample("events_consumed_lag_seconds_bucket", queue=QUEUE, le="60.0")
    assert within_60 - within_30 >= 1  # the 40 s it waited, in the 30-60 s bucket


async def _record(applied: list[Event], event: Event) -> None:
    applied.append(event)
