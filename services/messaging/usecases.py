"""Messaging's actions, one Postgres transaction each. Every transaction that records the carrier's
last missing answer for a message also settles it: the settlement event goes into the outbox with that
answer, so the ledger captures exactly what the carrier accepted, once, whatever crashes."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import datetime

import asyncpg

from common import events, outbox
from common.events import Event, MessageQueued, MessageSettled
from common.idempotency import request_fingerprint
from common.identity import Identity
from common.logs import get_logger
from services.messaging import domain, store
from services.messaging.domain import Order, Receipt

log = get_logger(__name__)
SOURCE = "messaging"


@dataclass(frozen=True)
class RecipientStatus:
    to: str
    status: domain.Status
    error_code: int | None


@dataclass(frozen=True)
class MessageView:
    id: uuid.UUID
    status: domain.Status
    encoding: str
    segments: int
    credits: int
    captured_credits: int | None
    created_at: datetime
    settled_at: datetime | None
    sender_user_id: uuid.UUID
    account_code: str
    recipients: list[RecipientStatus]


async def accept(pool: asyncpg.Pool, order: Order) -> tuple[MessageView, bool]:
    """Store the message, a part per recipient and its place in the sending queue, together. Handing
    the same message over again answers it as it is now (True: stored now)."""
    segmentation = domain.check_order(order)
    fingerprint = request_fingerprint({k: v for k, v in asdict(order).items() if k != "hold_expires_at"})
    async with pool.acquire() as conn, conn.transaction():
        created = await store.insert_message(conn, order, segmentation.encoding, fingerprint)
        if created:
            await store.insert_parts(conn, order.message_id, order.recipients)
            queued = MessageQueued(message_id=order.message_id, tenant_id=order.tenant_id)
            await outbox.enqueue(conn, Event.new(type=events.MESSAGE_QUEUED, source=SOURCE,
                                                 subject=str(order.tenant_id), data=queued))
        else:
            existing = await store.message(conn, order.message_id)
            if existing is None or existing["request_hash"] != fingerprint:
                raise domain.MessageKeyReused("This message id was already used for a different message.")
        return await _view(conn, order.message_id), created


async def view(pool: asyncpg.Pool, identity: Identity, message_id: uuid.UUID) -> MessageView:
    """A message, to its sender or a master of its tenant; another tenant's does not exist."""
    async with pool.acquire() as conn:
        row = await store.message(conn, message_id)
        if row is None or identity.tenant_id not in (None, row["tenant_id"]):
            raise domain.MessageNotFound("No such message.")
        if identity.role == "user" and identity.user_id != row["sender_user_id"]:
            raise domain.MessageForbidden("Only its sender and master users may see this message.")
        return await _view(conn, message_id)


async def _view(conn: asyncpg.Connection, message_id: uuid.UUID) -> MessageView:
    row = await store.message(conn, message_id)
    assert row is not None
    parts = [store.part_view(p) for p in await store.parts(conn, message_id)]
    receipts = await store.receipts_for(conn, [i for p in parts for i in p.carrier_ids])
    recipients = [RecipientStatus(p.recipient, domain.part_status(p, row["segments"], receipts), p.error_code)
                  for p in parts]
    return MessageView(
        id=row["id"], status=domain.message_status([r.status for r in recipients]), encoding=row["encoding"],
        segments=row["segments"], credits=row["credits"], captured_credits=row["captured_credits"],
        created_at=row["created_at"], settled_at=row["settled_at"], sender_user_id=row["sender_user_id"],
        account_code=row["account_code"], recipients=recipients,
    )


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
            await store.message(conn, message_id, lock=True)
            expired = await store.expire_unanswered(conn, message_id)
            await _settle_if_answered(conn, message_id)
        log.warning("message_parts_expired", message_id=str(message_id), parts=expired)
    return len(overdue)


async def _settle_if_answered(conn: asyncpg.Connection, message_id: uuid.UUID) -> None:
    # The message row is locked before counting: two parts answered at once then settle one after the
    # other, and the second sees the first's answer (READ COMMITTED reads what committed before it).
    message = await store.message(conn, message_id, lock=True)
    assert message is not None
    if message["settled_at"] is not None or await store.unanswered_count(conn, message_id):
        return
    parts = [store.part_view(p) for p in await store.parts(conn, message_id)]
    captured = domain.captured_credits(parts)
    await store.mark_settled(conn, message_id, captured)
    settled = MessageSettled(
        message_id=message_id, tenant_id=message["tenant_id"], hold_id=message["hold_id"],
        account_code=message["account_code"], segments=message["segments"], recipients=len(parts),
        accepted_recipients=sum(1 for p in parts if p.state == "accepted"), captured_credits=captured,
    )
    await outbox.enqueue(conn, Event.new(type=events.MESSAGE_SETTLED, source=SOURCE,
                                         subject=str(message["tenant_id"]), data=settled))
    log.info("message_settled", message_id=str(message_id), captured_credits=captured, credits=message["credits"])


async def record_receipt(pool: asyncpg.Pool, receipt: Receipt) -> None:
    async with pool.acquire() as conn:
        await store.insert_receipt(conn, receipt)
