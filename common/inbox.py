"""De-duplication of consumed events, inside the consumer's own transaction."""

from __future__ import annotations

import uuid

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
