"""Sending's SQL: each segment's progress through the carrier, receipts, and settling a message."""

from __future__ import annotations

import uuid

import asyncpg

from services.messaging.sending.domain import Receipt


async def claim_sending(conn: asyncpg.Connection, message_id: uuid.UUID, token: uuid.UUID, lease: float) -> bool:
    """Take the message's send claim, if nobody holds it or its holder's lease has run out."""
    return bool(await conn.fetchval(
        """UPDATE messages SET sender_token = $2, sender_lease_until = now() + make_interval(secs => $3)
           WHERE id = $1 AND (sender_lease_until IS NULL OR sender_lease_until < now()) RETURNING true""",
        message_id, token, lease,
    ))


async def renew_sending(conn: asyncpg.Connection, message_id: uuid.UUID, token: uuid.UUID, lease: float) -> bool:
    """Extend our claim; False when it is no longer ours (it ran out and another delivery took it)."""
    return bool(await conn.fetchval(
        """UPDATE messages SET sender_lease_until = now() + make_interval(secs => $3)
           WHERE id = $1 AND sender_token = $2 RETURNING true""",
        message_id, token, lease,
    ))


async def release_sending(conn: asyncpg.Connection, message_id: uuid.UUID, token: uuid.UUID) -> None:
    await conn.execute(
        "UPDATE messages SET sender_token = NULL, sender_lease_until = NULL WHERE id = $1 AND sender_token = $2",
        message_id, token,
    )


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
    # The carrier's id is also filed under its part, so that a receipt (which names only that id) finds it.
    updated = await conn.fetchval(
        """WITH part AS (
               UPDATE parts SET carrier_ids = array_append(carrier_ids, $3), next_segment = $2 + 1,
                                state = CASE WHEN $4 THEN 'accepted' ELSE 'submitting' END,
                                accepted_at = CASE WHEN $4 THEN now() END, updated_at = now()
               WHERE id = $1 AND next_segment = $2 AND state IN ('queued', 'submitting') RETURNING id
           ), filed AS (
               INSERT INTO segments (carrier_id, part_id) SELECT $3, id FROM part ON CONFLICT DO NOTHING
           )
           SELECT true FROM part""",
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


_SEGMENT_LOCK = 7_342_103  # any constant: it only has to differ from other two-key advisory locks


async def lock_segment(conn: asyncpg.Connection, carrier_id: str) -> None:
    """The carrier's answer for a segment and its receipt meet on this lock: whichever commits second sees
    the other's row (a receipt recorded while its answer is being recorded would otherwise see no part,
    and the answer no receipt, and the recipient's delivery would never be settled)."""
    await conn.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))", _SEGMENT_LOCK, carrier_id)


async def part_of_segment(conn: asyncpg.Connection, carrier_id: str) -> tuple[uuid.UUID, uuid.UUID] | None:
    """(message, part) of the segment the carrier calls `carrier_id`; None before we recorded its answer."""
    row = await conn.fetchrow(
        "SELECT p.message_id, p.id FROM segments s JOIN parts p ON p.id = s.part_id WHERE s.carrier_id = $1",
        carrier_id,
    )
    return (row["message_id"], row["id"]) if row else None


async def settle_delivery(conn: asyncpg.Connection, part_id: uuid.UUID, delivery: str) -> bool:
    """Record the part's final delivery; False when it had one already (a repeated receipt)."""
    return bool(await conn.fetchval(
        """UPDATE parts SET delivery = $2, delivered_at = now(), updated_at = now()
           WHERE id = $1 AND state = 'accepted' AND delivery IS NULL RETURNING true""",
        part_id, delivery,
    ))


async def parts_owing_refund(conn: asyncpg.Connection, message_id: uuid.UUID) -> list[asyncpg.Record]:
    """Accepted parts that will not arrive and have not been announced yet."""
    return await conn.fetch(
        """SELECT id, recipient, delivery, carrier_ids, credits_per_segment FROM parts
           WHERE message_id = $1 AND state = 'accepted' AND NOT legacy
             AND delivery IN ('undeliverable', 'expired', 'rejected') AND refund_announced_at IS NULL
           ORDER BY position""",
        message_id,
    )


async def mark_refunds_announced(conn: asyncpg.Connection, part_ids: list[uuid.UUID]) -> None:
    await conn.execute("UPDATE parts SET refund_announced_at = now() WHERE id = ANY($1::uuid[])", part_ids)


async def parts_past_validity(
    conn: asyncpg.Connection, validity_seconds: float, limit: int = 500
) -> list[asyncpg.Record]:
    """Accepted parts whose receipt never came within the validity period."""
    return await conn.fetch(
        """SELECT message_id, id FROM parts
           WHERE state = 'accepted' AND delivery IS NULL AND NOT legacy
             AND accepted_at <= now() - make_interval(secs => $1)
           ORDER BY accepted_at LIMIT $2""",
        validity_seconds, limit,
    )


async def insert_receipt(conn: asyncpg.Connection, receipt: Receipt) -> None:
    # A later receipt for the same segment (ENROUTE, then DELIVRD) replaces the earlier one.
    await conn.execute(
        """INSERT INTO receipts (carrier_id, stat, error) VALUES ($1, $2, $3)
           ON CONFLICT (carrier_id) DO UPDATE SET stat = EXCLUDED.stat, error = EXCLUDED.error,
                                                 received_at = now()""",
        receipt.carrier_id, receipt.stat, receipt.error,
    )
