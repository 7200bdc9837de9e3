"""Sending's actions, one Postgres transaction each. Every transaction that records the carrier's last
missing answer for a message also settles it: the settlement event goes into the outbox with that
answer, so the ledger captures exactly what the carrier accepted, once, whatever crashes."""

from __future__ import annotations

import uuid

import asyncpg

from common import outbox, sms
from common.contracts import events
from common.contracts.events import Event, MessageSettled, MessageUndelivered
from common.logs import get_logger
from services.messaging.messages import store as messages_store
from services.messaging.messages.domain import SOURCE, final_delivery
from services.messaging.sending import domain, store
from services.messaging.sending.domain import Receipt

log = get_logger(__name__)


async def claim_sending(pool: asyncpg.Pool, message_id: uuid.UUID, token: uuid.UUID, lease: float) -> bool:
    async with pool.acquire() as conn:
        return await store.claim_sending(conn, message_id, token, lease)


async def renew_sending(pool: asyncpg.Pool, message_id: uuid.UUID, token: uuid.UUID, lease: float) -> bool:
    async with pool.acquire() as conn:
        return await store.renew_sending(conn, message_id, token, lease)


async def release_sending(pool: asyncpg.Pool, message_id: uuid.UUID, token: uuid.UUID) -> None:
    async with pool.acquire() as conn:
        await store.release_sending(conn, message_id, token)


async def begin_segment(pool: asyncpg.Pool, part_id: uuid.UUID, seq: int) -> bool:
    async with pool.acquire() as conn:
        return await store.begin_segment(conn, part_id, seq)


async def segment_accepted(
    pool: asyncpg.Pool, message_id: uuid.UUID, part_id: uuid.UUID, seq: int, carrier_id: str, last: bool
) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await store.lock_segment(conn, carrier_id)
        await _lock_message(conn, message_id)
        if await store.record_accepted(conn, part_id, seq, carrier_id, last) and last:
            await _settle_if_answered(conn, message_id)
            # Its receipts may have come before this answer was recorded: they settle its delivery now.
            await _settle_delivery(conn, message_id, part_id)


async def part_ended(
    pool: asyncpg.Pool, message_id: uuid.UUID, part_id: uuid.UUID, seq: int, state: str, code: int | None
) -> None:
    """The carrier refused segment `seq` (`rejected`), or its hold ran out before it went (`expired`)."""
    async with pool.acquire() as conn, conn.transaction():
        await _lock_message(conn, message_id)
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


async def _lock_message(conn: asyncpg.Connection, message_id: uuid.UUID) -> None:
    """Every transaction that changes a message's parts locks the message row first (after the segment's
    advisory lock, where it takes one): one order for all, so an answer never holds a part the expiry
    sweeper waits for while it waits for the message the sweeper holds (a deadlock, one side rolled back)."""
    await messages_store.message(conn, message_id, lock=True)


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
    # Recipients already known not to arrive get their credits back right after the capture.
    await _announce_refunds(conn, message)


async def record_receipt(pool: asyncpg.Pool, receipt: Receipt) -> None:
    """Keep the receipt and, once its part is known, settle that recipient's delivery: one transaction,
    so a repeated receipt (or one that overtook the carrier's answer) settles it once."""
    async with pool.acquire() as conn, conn.transaction():
        await store.lock_segment(conn, receipt.carrier_id)
        await store.insert_receipt(conn, receipt)
        found = await store.part_of_segment(conn, receipt.carrier_id)
        if found is not None:
            await _settle_delivery(conn, *found)


async def expire_unreceipted(pool: asyncpg.Pool, validity_seconds: float) -> int:
    """Recipients whose receipt never came within the validity period are `expired`: not delivered, so
    their credits come back like an undeliverable one's. Answers how many."""
    async with pool.acquire() as conn:
        overdue = await store.parts_past_validity(conn, validity_seconds)
    expired = 0
    for row in overdue:
        async with pool.acquire() as conn, conn.transaction():
            message = await messages_store.message(conn, row["message_id"], lock=True)
            part = await messages_store.part(conn, row["id"])
            assert message is not None and part is not None
            # A receipt stored without settling the part (it never should be, but receipts are the truth)
            # decides first; only what no receipt settles is expired.
            receipts = await messages_store.receipts_for(conn, list(part["carrier_ids"]))
            final = final_delivery([receipts.get(c) for c in part["carrier_ids"]], message["segments"]) or "expired"
            if await store.settle_delivery(conn, row["id"], final):
                expired += 1
                if message["settled_at"] is not None:
                    await _announce_refunds(conn, message)
    if expired:
        log.info("receipts_expired", parts=expired)
    return expired


async def _settle_delivery(conn: asyncpg.Connection, message_id: uuid.UUID, part_id: uuid.UUID) -> None:
    # The message row first, as every writer of its parts does: settlement and deliveries take turns.
    message = await messages_store.message(conn, message_id, lock=True)
    part = await messages_store.part(conn, part_id)
    if message is None or part is None or part["state"] != "accepted" or part["delivery"] is not None:
        return
    receipts = await messages_store.receipts_for(conn, list(part["carrier_ids"]))
    final = final_delivery([receipts.get(carrier_id) for carrier_id in part["carrier_ids"]], message["segments"])
    if final is None or not await store.settle_delivery(conn, part_id, final):
        return
    log.info("recipient_delivery_settled", message_id=str(message_id), to=sms.mask(part["recipient"]), delivery=final)
    if message["settled_at"] is not None:
        await _announce_refunds(conn, message)


async def _announce_refunds(conn: asyncpg.Connection, message: asyncpg.Record) -> None:
    """One `messaging.message.undelivered` per accepted recipient that will not arrive, in the same
    transaction that marks it announced: the ledger gives the credits back (where the tenant's policy
    says so), keyed by the part, so even a repeated event refunds once."""
    owing = await store.parts_owing_refund(conn, message["id"])
    if not owing:
        return
    subject = events.subject_in(message["tenant_id"], "messages", message["id"])
    for part in owing:
        undelivered = MessageUndelivered(
            message_id=message["id"], tenant_id=message["tenant_id"], hold_id=message["hold_id"], part_id=part["id"],
            account_code=message["account_code"], recipient=sms.mask(part["recipient"]), status=part["delivery"],
            credits=len(part["carrier_ids"]) * part["credits_per_segment"], sender_user_id=message["sender_user_id"],
        )
        await outbox.enqueue(conn, Event.new(type=events.MESSAGE_UNDELIVERED, source=SOURCE, subject=subject,
                                             data=undelivered, request_id=message["request_id"]))
    await store.mark_refunds_announced(conn, [p["id"] for p in owing])
    log.info("undelivered_announced", message_id=str(message["id"]), recipients=len(owing))
