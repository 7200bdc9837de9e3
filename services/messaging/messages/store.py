"""A message's SQL: storing a hand-over and reading a message, its parts and their receipts."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg

from common.logs import current_request_id
from services.messaging.messages.domain import Order, PartView

_MESSAGE_COLUMNS = """id, tenant_id, sender_user_id, account_code, hold_id, hold_expires_at, body, encoding,
                      segments, credits, request_hash, created_at, settled_at, captured_credits, request_id"""


async def insert_message(conn: asyncpg.Connection, order: Order, encoding: str, request_hash: str) -> bool:
    """False when a message with this id exists already (a replayed hand-over)."""
    inserted = await conn.fetchval(
        """INSERT INTO messages (id, tenant_id, sender_user_id, account_code, hold_id, hold_expires_at, body,
                                 encoding, segments, credits, request_hash, request_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
           ON CONFLICT (id) DO NOTHING RETURNING true""",
        order.message_id, order.tenant_id, order.sender_user_id, order.account_code, order.hold_id,
        order.hold_expires_at, order.body, encoding, order.segments, order.credits, request_hash,
        current_request_id(),
    )
    return bool(inserted)


async def insert_parts(
    conn: asyncpg.Connection, message_id: uuid.UUID, recipients: Sequence[str], credits_per_segment: Sequence[int]
) -> None:
    await conn.executemany(
        "INSERT INTO parts (id, message_id, position, recipient, credits_per_segment) VALUES ($1, $2, $3, $4, $5)",
        [(uuid.uuid4(), message_id, position, number, rate)
         for position, (number, rate) in enumerate(zip(recipients, credits_per_segment, strict=True))],
    )


async def message(conn: asyncpg.Connection, message_id: uuid.UUID, *, lock: bool = False) -> asyncpg.Record | None:
    suffix = " FOR UPDATE" if lock else ""
    return await conn.fetchrow(f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE id = $1{suffix}", message_id)  # noqa: S608


async def parts(conn: asyncpg.Connection, message_id: uuid.UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT id, recipient, state, next_segment, carrier_ids, error_code, credits_per_segment, delivery,
                  refund_announced_at FROM parts
           WHERE message_id = $1 ORDER BY position""",
        message_id,
    )


def part_view(row: asyncpg.Record) -> PartView:
    return PartView(row["recipient"], row["state"], tuple(row["carrier_ids"]), row["error_code"],
                    row["credits_per_segment"], row["delivery"], row["refund_announced_at"] is not None)


async def part(conn: asyncpg.Connection, part_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT id, message_id, recipient, state, next_segment, carrier_ids, error_code, credits_per_segment,
                  delivery, refund_announced_at FROM parts WHERE id = $1""",
        part_id,
    )


async def receipts_for(conn: asyncpg.Connection, carrier_ids: Sequence[str]) -> dict[str, str]:
    rows = await conn.fetch(
        "SELECT carrier_id, stat FROM receipts WHERE carrier_id = ANY($1::text[])", list(carrier_ids)
    )
    return {r["carrier_id"]: r["stat"] for r in rows}
