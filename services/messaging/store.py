"""Messaging's SQL, parameterised, nothing else."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg

from services.messaging.domain import Order, PartView, Receipt

_MESSAGE_COLUMNS = """id, tenant_id, sender_user_id, account_code, hold_id, hold_expires_at, body, encoding,
                      segments, credits, request_hash, created_at, settled_at, captured_credits"""


async def insert_message(conn: asyncpg.Connection, order: Order, encoding: str, request_hash: str) -> bool:
    """False when a message with this id exists already (a replayed hand-over)."""
    inserted = await conn.fetchval(
        """INSERT INTO messages (id, tenant_id, sender_user_id, account_code, hold_id, hold_expires_at, body,
                                 encoding, segments, credits, request_hash)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
           ON CONFLICT (id) DO NOTHING RETURNING true""",
        order.message_id, order.tenant_id, order.sender_user_id, order.account_code, order.hold_id,
        order.hold_expires_at, order.body, encoding, order.segments, order.credits, request_hash,
    )
    return bool(inserted)


async def insert_parts(conn: asyncpg.Connection, message_id: uuid.UUID, recipients: Sequence[str]) -> None:
    await conn.executemany(
        "INSERT INTO parts (id, message_id, position, recipient) VALUES ($1, $2, $3, $4)",
        [(uuid.uuid4(), message_id, position, number) for position, number in enumerate(recipients)],
    )


async def message(conn: asyncpg.Connection, message_id: uuid.UUID, *, lock: bool = False) -> asyncpg.Record | None:
    suffix = " FOR UPDATE" if lock else ""
    return await conn.fetchrow(f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE id = $1{suffix}", message_id)  # noqa: S608


async def parts(conn: asyncpg.Connection, message_id: uuid.UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT id, recipient, state, next_segment, carrier_ids, error_code FROM parts
           WHERE message_id = $1 ORDER BY position""",
        message_id,
    )


def part_view(row: asyncpg.Record) -> PartView:
    return PartView(row["recipient"], row["state"], tuple(row["carrier_ids"]), row["error_code"])


async def begin_segment(conn: asyncpg.Connection, part_id: uuid.UUID, seq: int) -> bool:
    """Record that segment `seq` is about to go to the carrier; False when the part has moved on (an
    answer was recorded meanwhile by another delivery of the same message)."""
    updated = await conn.fetchval(
        """UPDATE parts SET state = 'submitting', attempts = attempts + 1, updated_at = now()
           WHERE id = $1 AND next_segment = $2 AND state IN ('queued', 'submitting') RETURNING true""",
        part_id, seq,
    )
    return bool(updated)


async def record_accepted(
    conn: asyncpg.Connection, part_id: uuid.UUID, seq: int, carrier_id: str, last: bool
) -> bool:
    updated = await conn.fetchval(
        """UPDATE parts SET carrier_ids = array_append(carrier_ids, $3), next_segment = $2 + 1,
                            state = CASE WHEN $4 THEN 'accepted' ELSE 'submitting' END, updated_at = now()
           WHERE id = $1 AND next_segment = $2 AND state IN ('queued', 'submitting') RETURNING true""",
        part_id, seq, carrier_id, last,
    )
    return bool(updated)


async def record_refused(conn: asyncpg.Connection, part_id: uuid.UUID, seq: int, state: str, code: int | None) -> bool:
    """The part ends here (`rejected` by the carrier, or `expired` with its hold): segments after it are
    not sent, those before it stay accepted and paid for."""
    updated = await conn.fetchval(
        """UPDATE parts SET state = $3, error_code = $4, updated_at = now()
           WHERE id = $1 AND next_segment = $2 AND state IN ('queued', 'submitting') RETURNING true""",
        part_id, seq, state, code,
    )
    return bool(updated)


async def expire_unanswered(conn: asyncpg.Connection, message_id: uuid.UUID) -> int:
    result = await conn.execute(
        """UPDATE parts SET state = 'expired', updated_at = now()
           WHERE message_id = $1 AND state IN ('queued', 'submitting')""",
        message_id,
    )
    return int(result.split()[-1])


async def unanswered_count(conn: asyncpg.Connection, message_id: uuid.UUID) -> int:
    return int(await conn.fetchval(
        "SELECT count(*) FROM parts WHERE message_id = $1 AND state IN ('queued', 'submitting')", message_id
    ))


async def mark_settled(conn: asyncpg.Connection, message_id: uuid.UUID, captured: int) -> None:
    await conn.execute(
        "UPDATE messages SET settled_at = now(), captured_credits = $2 WHERE id = $1", message_id, captured
    )


async def overdue_messages(conn: asyncpg.Connection, margin_seconds: float, limit: int = 100) -> list[uuid.UUID]:
    rows = await conn.fetch(
        """SELECT DISTINCT m.id FROM messages m JOIN parts p ON p.message_id = m.id
           WHERE p.state IN ('queued', 'submitting') AND m.settled_at IS NULL
             AND m.hold_expires_at - make_interval(secs => $1) <= now()
           LIMIT $2""",
        margin_seconds, limit,
    )
    return [r["id"] for r in rows]


async def insert_receipt(conn: asyncpg.Connection, receipt: Receipt) -> None:
    # A later receipt for the same segment (ENROUTE, then DELIVRD) replaces the earlier one.
    await conn.execute(
        """INSERT INTO receipts (carrier_id, stat, error) VALUES ($1, $2, $3)
           ON CONFLICT (carrier_id) DO UPDATE SET stat = EXCLUDED.stat, error = EXCLUDED.error,
                                                 received_at = now()""",
        receipt.carrier_id, receipt.stat, receipt.error,
    )


async def receipts_for(conn: asyncpg.Connection, carrier_ids: Sequence[str]) -> dict[str, str]:
    rows = await conn.fetch(
        "SELECT carrier_id, stat FROM receipts WHERE carrier_id = ANY($1::text[])", list(carrier_ids)
    )
    return {r["carrier_id"]: r["stat"] for r in rows}
