"""Sending's actions, one Postgres transaction each. Every transaction that records the carrier's last
missing answer for a message also settles it: the settlement event goes into the outbox with that
answer, so the ledger captures exactly what the carrier accepted, once, whatever crashes."""

from __future__ import annotations

import uuid

import asyncpg

from common import outbox
from common.contracts import events
from common.contracts.events import Event, MessageSettled
from common.logs import get_logger
from services.messaging.messages import store as messages_store
from services.messaging.messages.domain import SOURCE
from services.messaging.sending import domain, store
from services.messaging.sending.domain import Receipt

log = get_logger(__name__)


async def begin_segment(pool: asyncpg.Pool, part_id: uuid.UUID, seq: int) -> bool:
    async with pool.acquire() as conn:
        return await store.begin_segment(conn, part_id, seq)


async def segment_accepted(
    pool: asyncpg.Pool, message_id: uuid.UUID, part_id: uuid.UUID, seq: int, carrier_id: str, last: bool
) -> None:
    async with pool.acquire() as conn, conn.transaction():
        if await store.record_accepted(conn, part_id, seq, carrier_id, last) and last:
            await _settle_if_answered(conn, message_id)


async def part_ended(
    pool: asyncpg.Pool, message_id: uuid.UUID, part_id: uuid.UUID, seq: int, state: str, code: int | None
) -> None:
    """The carrier refused segment `seq` (`rejected`), or its hold ran out before it went (`expired`)."""
    async with pool.acquire() as conn, conn.transaction():
        if await store.record_refused(conn, part_id, seq, state, code):
            await _settle_if_answered(conn, message_id)


async def expire_overdue(pool: asyncpg.Pool, margin_seconds: float) -> int:
    """Messages whose hold is about to run out with parts never answered (their sender died and did not
    come back in time): those parts are not sent, the message is settled with what was accepted."""
    async with pool.acquire() as conn:
        overdue = await store.overdue_messages(conn, margin_seconds)
    for message_id in overdue:
        async with pool.acquire() as conn, conn.transaction():
            await messages_store.message(conn, message_id, lock=True)
            expired = await store.expire_unanswered(conn, message_id)
            await _settle_if_answered(conn, message_id)
        log.warning("message_parts_expired", message_id=str(message_id), parts=expired)
    return len(overdue)


async def _settle_if_answered(conn: asyncpg.Connection, message_id: uuid.UUID) -> None:
    # The message row is locked before counting: two parts answered at once then settle one after the
    # other, and the second sees the first's answer (READ COMMITTED reads what committed before it).
    message = await messages_store.message(conn, message_id, lock=True)
    assert message is not None
    if message["settled_at"] is not None or await store.unanswered_count(conn, message_id):
        return
    parts = [messages_store.part_view(p) for p in await messages_store.parts(conn, message_id)]
    captured = domain.captured_credits(parts)
    await store.mark_settled(conn, message_id, captured)
    settled = MessageSettled(
        message_id=message_id, tenant_id=message["tenant_id"], hold_id=message["hold_id"],
        account_code=message["account_code"], segments=message["segments"], recipients=len(parts),
        accepted_recipients=sum(1 for p in parts if p.state == "accepted"), captured_credits=captured,
        sender_user_id=message["sender_user_id"],
    )
    subject = events.subject_in(message["tenant_id"], "messages", message_id)
    await outbox.enqueue(conn, Event.new(type=events.MESSAGE_SETTLED, source=SOURCE, subject=subject, data=settled,
                                         request_id=message["request_id"]))
    log.info("message_settled", message_id=str(message_id), captured_credits=captured, credits=message["credits"])


async def record_receipt(pool: asyncpg.Pool, receipt: Receipt) -> None:
    async with pool.acquire() as conn:
        await store.insert_receipt(conn, receipt)
