"""De-duplication of consumed events, inside the consumer's own transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg


async def first_delivery(conn: asyncpg.Connection, consumer: str, event_id: uuid.UUID) -> bool:
    """Record the event as processed by this consumer; False when it already was.

    Call it inside the transaction that applies the event's effects: if that transaction rolls back
    the record goes with it, and a concurrent duplicate waits on the primary key until we commit, then
    sees the row and does nothing.
    """
    inserted = await conn.fetchval(
        "INSERT INTO inbox (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING true",
        consumer,
        event_id,
    )
    return bool(inserted)


async def first_deliveries(
    conn: asyncpg.Connection, consumer: str, event_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    """`first_delivery` for many events in one statement: answers the ids not processed before.

    Inserted in id order, so two transactions recording overlapping sets (a redelivery racing its
    original in another process) take the keys in the same order and one waits instead of deadlocking.
    """
    rows = await conn.fetch(
        """INSERT INTO inbox (consumer, event_id) SELECT $1, id FROM unnest($2::uuid[]) AS id ORDER BY id
           ON CONFLICT DO NOTHING RETURNING event_id""",
        consumer,
        sorted(set(event_ids)),
    )
    return {row["event_id"] for row in rows}
