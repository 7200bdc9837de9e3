"""The transactional outbox: write events with the change, publish them after commit.

`enqueue` is called inside the transaction that makes a change, so the event exists if and only if
the change does. The relay publishes unpublished rows and marks only those the broker confirmed:
a crash between publish and mark publishes a row again (at least once), and consumers' inboxes make
that exactly one effect.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Mapping
from typing import Any

import asyncpg
from prometheus_client import Counter

from common.bus import Broker
from common.contracts.events import Event
from common.db import ASYNC_COMMIT, DATABASE_UNAVAILABLE
from common.logs import get_logger

log = get_logger(__name__)

EVENTS_PUBLISHED = Counter("outbox_events_published_total", "Events the broker confirmed", ["routing_key"])
PUBLISH_FAILURES = Counter("outbox_publish_failures_total", "Publish attempts that were not confirmed")
RELAY_RETRIES = Counter("outbox_relay_retries_total", "Relay rounds that failed and will be retried")

_POLL_SECONDS = 1.0
_RETENTION = "7 days"


async def enqueue(conn: asyncpg.Connection, event: Event, headers: Mapping[str, str] | None = None) -> None:
    await conn.execute(
        "INSERT INTO outbox (event_id, routing_key, envelope, headers) VALUES ($1, $2, $3, $4)",
        event.id,
        event.routing_key,
        event.model_dump(mode="json", exclude_none=True),
        dict(headers) if headers else None,
    )


class OutboxRelay:
    def __init__(self, dsn: str, pool: asyncpg.Pool, broker: Broker, batch_size: int = 500) -> None:
        self._dsn = dsn
        self._pool = pool
        self._broker = broker
        self._batch_size = batch_size
        self._wake = asyncio.Event()
        self._listener: asyncpg.Connection | None = None

    async def run(self) -> None:
        """Publish forever; survives database and broker outages by retrying."""
        rounds = 0
        while True:
            try:
                await self._ensure_listener()
                published = await self.publish_batch()
                rounds += 1
                if rounds % 600 == 0:
                    await self._purge_published()
                if published >= self._batch_size:
                    continue  # more are probably waiting
            except Exception as exc:  # cancellation is not an Exception: shutdown still stops the relay
                # Whatever failed, the rows are still there, unmarked: retry rather than die. A relay
                # that stopped on an error it did not expect (asyncpg's InternalClientError after a
                # Postgres restart) once left paid purchases uncredited while the service looked fine.
                log.warning("outbox_relay_retrying", error=repr(exc))
                RELAY_RETRIES.inc()
                if isinstance(exc, DATABASE_UNAVAILABLE):
                    # The server went away: every pooled connection is from before; replace them all
                    # rather than meet each broken one in turn.
                    await self._pool.expire_connections()
                await self._drop_listener()
            # A notification wakes us at once; the timeout covers a notification lost while the
            # listener was reconnecting.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=_POLL_SECONDS)
            self._wake.clear()

    async def publish_batch(self) -> int:
        async with self._pool.acquire() as conn, conn.transaction():
            # SKIP LOCKED lets several relays (or a restarted one beside a dying one) share the
            # table without publishing the same batch concurrently.
            rows = await conn.fetch(
                # The envelope as the text Postgres keeps, published as it is: no decoding and
                # re-encoding of every event in the relay.
                """SELECT id, event_id, routing_key, envelope::text AS envelope, headers::text AS headers FROM outbox
                   WHERE published_at IS NULL ORDER BY id LIMIT $1
                   FOR UPDATE SKIP LOCKED""",
                self._batch_size,
            )
            if not rows:
                return 0
            if not self._broker.is_connected:
                raise OSError("broker not connected")
            results = await asyncio.gather(
                *(self._broker.publish_raw(row["envelope"].encode(), str(row["event_id"]), row["routing_key"],
                                           json.loads(row["headers"]) if row["headers"] else None)
                  for row in rows),
                return_exceptions=True,
            )
            confirmed = [row["id"] for row, result in zip(rows, results, strict=True) if result is None]
            for row, result in zip(rows, results, strict=True):
                if result is None:
                    EVENTS_PUBLISHED.labels(row["routing_key"]).inc()
                else:
                    PUBLISH_FAILURES.inc()
                    log.warning("outbox_publish_unconfirmed", outbox_id=row["id"], error=repr(result))
            if confirmed:
                await conn.execute(
                    ASYNC_COMMIT + " UPDATE outbox SET published_at = now() FROM async_commit"  # noqa: S608 - constant
                    " WHERE id = ANY($1::bigint[])",
                    confirmed,
                )
            return len(confirmed)

    async def _purge_published(self) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(
                f"DELETE FROM outbox WHERE published_at < now() - interval '{_RETENTION}'"  # noqa: S608
            )

    async def _ensure_listener(self) -> None:
        if self._listener is not None and not self._listener.is_closed():
            return
        self._listener = await asyncpg.connect(self._dsn)
        await self._listener.add_listener("outbox", self._on_notify)

    def _on_notify(self, *_: Any) -> None:
        self._wake.set()

    async def _drop_listener(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()
        self._listener = None

    async def close(self) -> None:
        await self._drop_listener()
