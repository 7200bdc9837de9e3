"""The SQL of events received, their deliveries and every attempt."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime

import asyncpg

from common.keyset import Cursor


async def lock_endpoints_wanting(conn: asyncpg.Connection, tenant_ids: Collection[uuid.UUID],
                                 event_types: Collection[str]) -> list[asyncpg.Record]:
    """The enabled endpoints of these tenants that want any of these types (id, tenant_id, event_types),
    locked in id order: one order for every transaction that locks several, so none waits in a cycle."""
    return await conn.fetch(
        """SELECT id, tenant_id, event_types FROM endpoints
           WHERE tenant_id = ANY ($1::uuid[]) AND enabled AND event_types && $2::text[]
           ORDER BY id FOR UPDATE""",
        list(tenant_ids), list(event_types),
    )


async def lock_endpoint(conn: asyncpg.Connection, endpoint_id: uuid.UUID) -> bool:
    """Lock the endpoint's row; False when it no longer exists."""
    return bool(await conn.fetchval("SELECT true FROM endpoints WHERE id = $1 FOR UPDATE", endpoint_id))


async def insert_event(conn: asyncpg.Connection, event_id: uuid.UUID, tenant_id: uuid.UUID, event_type: str,
                       body: str) -> None:
    await conn.execute(
        "INSERT INTO events (id, tenant_id, type, body) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING",
        event_id, tenant_id, event_type, body,
    )


async def insert_deliveries(conn: asyncpg.Connection, event_id: uuid.UUID, endpoint_ids: Sequence[uuid.UUID]) -> None:
    await conn.executemany(
        "INSERT INTO deliveries (id, endpoint_id, event_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        [(uuid.uuid4(), endpoint_id, event_id) for endpoint_id in endpoint_ids],
    )


# $1: at most this many; $2: the lease in seconds. Named so that a test can read its plan (EXPLAIN).
CLAIM_DUE = """WITH claimed AS MATERIALIZED (
           SELECT c.id FROM deliveries c
           WHERE c.id IN (
               SELECT head.id FROM endpoints ce
               CROSS JOIN LATERAL (
                   SELECT p.id, p.position, p.next_attempt_at, p.leased_until FROM deliveries p
                   WHERE p.endpoint_id = ce.id AND p.status = 'pending'
                   ORDER BY p.position LIMIT 1) head
               WHERE ce.enabled AND head.next_attempt_at <= now()
                 AND (head.leased_until IS NULL OR head.leased_until < now())
               ORDER BY head.next_attempt_at, head.position
               LIMIT $1)
             -- checked again on the row locked: another worker may have claimed or recorded it since
             AND c.status = 'pending' AND (c.leased_until IS NULL OR c.leased_until < now())
           FOR UPDATE OF c SKIP LOCKED)
       UPDATE deliveries d SET leased_until = now() + make_interval(secs => $2)
       FROM claimed, endpoints e, events ev
       WHERE d.id = claimed.id AND e.id = d.endpoint_id AND ev.id = d.event_id
       RETURNING d.id, d.event_id, d.endpoint_id, d.round_attempts, e.url, e.secret,
                 CASE WHEN e.previous_secret_expires_at > now() THEN e.previous_secret END AS previous_secret,
                 ev.body"""


async def claim_due(conn: asyncpg.Connection, batch: int, lease_seconds: float) -> list[asyncpg.Record]:
    """Lease due deliveries, at most one per endpoint: the earliest pending one of an enabled endpoint,
    when its time has come and nobody holds it. SKIP LOCKED lets two workers claim at once without
    waiting for, or taking, each other's rows; a claimed row's lease then keeps it (and, being the
    earliest, everything of its endpoint behind it) from any other worker until its outcome is recorded.

    Each endpoint's earliest pending delivery is one probe of `deliveries_pending`, so a claim costs the
    number of endpoints, not of pending deliveries: an endpoint down for hours, thousands behind it, does
    not slow every other endpoint's claims (asking every pending row whether an earlier one exists made a
    claim 28 ms with 5,000 pending, and catching up quadratic)."""
    return await conn.fetch(CLAIM_DUE, batch, lease_seconds)


async def record_attempt(conn: asyncpg.Connection, delivery_id: uuid.UUID, status_code: int | None,
                         error: str | None, duration_ms: int) -> None:
    await conn.execute(
        "INSERT INTO attempts (delivery_id, status_code, error, duration_ms) VALUES ($1, $2, $3, $4)",
        delivery_id, status_code, error, duration_ms,
    )


async def mark_delivered(conn: asyncpg.Connection, delivery_id: uuid.UUID, status_code: int) -> bool:
    done = await conn.fetchval(
        """UPDATE deliveries SET status = 'delivered', delivered_at = now(), attempts = attempts + 1,
                  round_attempts = round_attempts + 1, last_status_code = $2, last_error = NULL, leased_until = NULL
           WHERE id = $1 AND status = 'pending' RETURNING true""",
        delivery_id, status_code,
    )
    return bool(done)


async def schedule_retry(conn: asyncpg.Connection, delivery_id: uuid.UUID, delay_seconds: float,
                         status_code: int | None, error: str | None) -> bool:
    done = await conn.fetchval(
        """UPDATE deliveries SET attempts = attempts + 1, round_attempts = round_attempts + 1,
                  next_attempt_at = now() + make_interval(secs => $2), leased_until = NULL,
                  last_status_code = $3, last_error = $4
           WHERE id = $1 AND status = 'pending' RETURNING true""",
        delivery_id, delay_seconds, status_code, error,
    )
    return bool(done)


async def mark_failed(conn: asyncpg.Connection, delivery_id: uuid.UUID, status_code: int | None,
                      error: str | None) -> bool:
    done = await conn.fetchval(
        """UPDATE deliveries SET status = 'failed', attempts = attempts + 1, round_attempts = round_attempts + 1,
                  leased_until = NULL, last_status_code = $2, last_error = $3
           WHERE id = $1 AND status = 'pending' RETURNING true""",
        delivery_id, status_code, error,
    )
    return bool(done)


async def disable_endpoint(conn: asyncpg.Connection, endpoint_id: uuid.UUID, reason: str) -> asyncpg.Record | None:
    """Disable it (if not already): its creator's address and tenant, to tell them."""
    return await conn.fetchrow(
        """UPDATE endpoints SET enabled = false, disabled_reason = $2 WHERE id = $1 AND enabled
           RETURNING tenant_id, creator_email""",
        endpoint_id, reason,
    )


async def insert_disabling(conn: asyncpg.Connection, disabling_id: uuid.UUID, delivery_id: uuid.UUID) -> None:
    await conn.execute("INSERT INTO disablings (id, delivery_id) VALUES ($1, $2)", disabling_id, delivery_id)


_DELIVERY = """SELECT d.id, d.event_id, ev.type AS event_type, d.status, d.attempts, d.last_status_code,
                      d.last_error, CASE WHEN d.status = 'pending' THEN d.next_attempt_at END AS next_attempt_at,
                      d.delivered_at, d.created_at
               FROM deliveries d JOIN events ev ON ev.id = d.event_id"""


async def page(conn: asyncpg.Connection, endpoint_id: uuid.UUID, after: Cursor, limit: int) -> list[asyncpg.Record]:
    """Newest first, from just before `after`; one row more than the page, to tell whether more exist."""
    return await conn.fetch(
        f"""{_DELIVERY} WHERE d.endpoint_id = $1 AND (d.created_at, d.id) < ($2, $3)
            ORDER BY d.created_at DESC, d.id DESC LIMIT $4""",
        endpoint_id, after.created_at, after.id, limit + 1,
    )


async def delivery(conn: asyncpg.Connection, endpoint_id: uuid.UUID, delivery_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(f"{_DELIVERY} WHERE d.endpoint_id = $1 AND d.id = $2", endpoint_id, delivery_id)


async def finished_since(conn: asyncpg.Connection, endpoint_id: uuid.UUID, since: datetime) -> list[uuid.UUID]:
    rows = await conn.fetch(
        """SELECT id FROM deliveries WHERE endpoint_id = $1 AND status <> 'pending' AND created_at >= $2
           ORDER BY made FOR UPDATE""",
        endpoint_id, since,
    )
    return [row["id"] for row in rows]


async def requeue(conn: asyncpg.Connection, delivery_ids: Sequence[uuid.UUID]) -> None:
    """Pending again, due now, at the back of its endpoint's line (a new position, taken in the order
    given), with a fresh retry schedule; its attempts so far stay counted and recorded."""
    await conn.executemany(
        """UPDATE deliveries SET status = 'pending', position = nextval('deliveries_position_seq'),
                  round_attempts = 0, next_attempt_at = now(), leased_until = NULL, delivered_at = NULL
           WHERE id = $1 AND status <> 'pending'""",
        [(delivery_id,) for delivery_id in delivery_ids],
    )


async def hurry(conn: asyncpg.Connection, delivery_id: uuid.UUID) -> None:
    """A pending delivery waiting out its back-off: due now."""
    await conn.execute(
        "UPDATE deliveries SET next_attempt_at = now() WHERE id = $1 AND status = 'pending'", delivery_id
    )


async def disabling_failure(conn: asyncpg.Connection, disabling_id: uuid.UUID) -> asyncpg.Record | None:
    """What the email about a disabling says: the endpoint's URL, and the delivery that failed."""
    return await conn.fetchrow(
        """SELECT e.url, e.description, ev.type AS event_type, d.event_id, d.round_attempts AS attempts,
                  d.last_status_code, d.last_error, d.created_at
           FROM disablings di JOIN deliveries d ON d.id = di.delivery_id
                JOIN endpoints e ON e.id = d.endpoint_id JOIN events ev ON ev.id = d.event_id
           WHERE di.id = $1""",
        disabling_id,
    )
