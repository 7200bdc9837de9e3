"""Handing a message over and reading it, one Postgres transaction each."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import datetime

import asyncpg

from common import outbox
from common.contracts import events
from common.contracts.events import Event, MessageQueued
from common.idempotency import request_fingerprint
from common.identity import Identity
from services.messaging.messages import domain, store
from services.messaging.messages.domain import SOURCE, Order
from services.messaging.pricing import store as pricing_store


@dataclass(frozen=True)
class RecipientStatus:
    to: str
    status: domain.Status
    error_code: int | None
    delivery: domain.Delivery
    credits: int
    credits_returned: int


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
    fingerprint = request_fingerprint(
        {k: v for k, v in asdict(order).items() if k not in ("hold_expires_at", "credits_per_segment")})
    async with pool.acquire() as conn, conn.transaction():
        if await store.message(conn, order.message_id) is not None:
            # A retried hand-over is answered as the message is, before any pricing: the prices may have
            # changed since it was stored, and refusing the retry would have the gateway release the
            # hold of a message that is being sent.
            return await _existing(conn, order, fingerprint), False
        segmentation, priced = domain.check_order(order, await pricing_store.rates(conn))
        created = await store.insert_message(conn, order, segmentation.encoding, fingerprint)
        if created:
            await store.insert_parts(conn, order.message_id, order.recipients, priced)
            queued = MessageQueued(message_id=order.message_id, tenant_id=order.tenant_id)
            subject = events.subject_in(order.tenant_id, "messages", order.message_id)
            await outbox.enqueue(conn, Event.new(type=events.MESSAGE_QUEUED, source=SOURCE, subject=subject,
                                                 data=queued))
            return await _view(conn, order.message_id), True
        return await _existing(conn, order, fingerprint), False  # a twin stored it meanwhile


async def _existing(conn: asyncpg.Connection, order: Order, fingerprint: str) -> MessageView:
    existing = await store.message(conn, order.message_id)
    if existing is None or existing["request_hash"] != fingerprint:
        raise domain.MessageKeyReused("This message id was already used for a different message.")
    return await _view(conn, order.message_id)


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
    recipients = [
        RecipientStatus(p.recipient, domain.part_status(p, row["segments"], receipts), p.error_code,
                        domain.delivery_of(p), p.captured_credits, p.captured_credits if p.refund_announced else 0)
        for p in parts
    ]
    return MessageView(
        id=row["id"], status=domain.message_status([r.status for r in recipients]), encoding=row["encoding"],
        segments=row["segments"], credits=row["credits"], captured_credits=row["captured_credits"],
        created_at=row["created_at"], settled_at=row["settled_at"], sender_user_id=row["sender_user_id"],
        account_code=row["account_code"], recipients=recipients,
    )
