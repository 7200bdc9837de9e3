"""What an operator watches of the events' way, in every service: how far behind each consumer is, and how
much of the outbox the broker has not confirmed yet (`deploy/prometheus/alerts.yml` alerts on both).

The outbox is sampled on a timer rather than counted by the relay: a relay that is stuck, or a service
whose relay died, still reports how old its oldest unpublished event is growing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg
from prometheus_client import Gauge, Histogram

from common.contracts.events import Event
from common.db import DATABASE_UNAVAILABLE
from common.logs import get_logger

log = get_logger(__name__)

SAMPLE_SECONDS = 15.0

CONSUMER_LAG = Histogram(
    "events_consumed_lag_seconds", "From an event's time to its consumer having applied it, by queue", ["queue"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
)
OUTBOX_PENDING = Gauge("outbox_pending_events", "Events in this service's outbox the broker has not confirmed")
OUTBOX_OLDEST = Gauge("outbox_oldest_pending_seconds",
                      "Age of the oldest event in this service's outbox the broker has not confirmed (0: none)")


def applied(queue: str, event: Event) -> None:
    """An event was applied and acknowledged by the consumer of `queue`."""
    CONSUMER_LAG.labels(queue).observe(max(0.0, (datetime.now(UTC) - event.time).total_seconds()))


async def sample_outbox(pool: asyncpg.Pool) -> None:
    row = await pool.fetchrow(
        """SELECT count(*) AS pending, coalesce(extract(epoch FROM now() - min(created_at)), 0) AS oldest
           FROM outbox WHERE published_at IS NULL"""
    )
    assert row is not None
    OUTBOX_PENDING.set(row["pending"])
    OUTBOX_OLDEST.set(float(row["oldest"]))


async def sample_outbox_forever(pool: asyncpg.Pool, every: float = SAMPLE_SECONDS) -> None:
    while True:
        try:
            await sample_outbox(pool)
        except DATABASE_UNAVAILABLE as exc:  # the database is away: the last figures stand until it is back
            log.warning("outbox_sample_failed", error=str(exc))
        await asyncio.sleep(every)
