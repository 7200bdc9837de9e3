"""The ledger's steps in a refund's saga: take the refunded credits back before any money moves, and
give them back if the payment provider then refuses the refund.

Each step is one transaction: the inbox row, the `refund` transaction (or none) and the answer to
billing commit together. The idempotency keys are the refund's (`refund:<id>`, `refund:<id>:restore`),
so even a second event for the same refund moves no credit twice.
"""

from __future__ import annotations

import uuid

import asyncpg
from aiohttp import web
from pydantic import BaseModel

from common import events, outbox
from common.accounts import WORLD
from common.bus import EventHandler, PoisonEvent
from common.events import Event, RefundFailed, RefundRequested
from common.idempotency import request_fingerprint
from common.inbox import first_delivery
from common.logs import get_logger
from common.runtime import DB
from services.ledger import domain, store
from services.ledger.usecases import PostingRequest, post

log = get_logger(__name__)

REFUNDS_CONSUMER = "ledger.refunds"
SOURCE = "ledger"


def refunds_handler(app: web.Application) -> EventHandler:
    async def handle(event: Event) -> None:
        if event.type == events.REFUND_REQUESTED:
            await debit_refund(app[DB], event.id, event.payload(RefundRequested))
        elif event.type == events.REFUND_FAILED:
            await restore_refund(app[DB], event.id, event.payload(RefundFailed))
        else:
            raise PoisonEvent(f"the refunds queue does not handle {event.type}")

    return handle


def _answer(event_type: str, tenant_id: uuid.UUID, account_id: uuid.UUID, payload: BaseModel) -> Event:
    return Event.new(type=event_type, source=SOURCE, subject=f"{tenant_id}/{account_id}", data=payload)


async def debit_refund(pool: asyncpg.Pool, event_id: uuid.UUID, refund: RefundRequested) -> bool:
    """Take the credits back from the account they were bought for, only from what is available;
    answer billing either way. True when the credits were taken now."""
    async with pool.acquire() as conn, conn.transaction():
        if not await first_delivery(conn, REFUNDS_CONSUMER, event_id):
            return False
        try:
            # A savepoint: a refused debit undoes only itself; the inbox row and the refusal commit.
            async with conn.transaction():
                posted = await post(conn, _debit(refund))
        except domain.InsufficientCredits as exc:
            available = await _available(conn, refund.tenant_id, refund.account_code)
            rejected = events.RefundRejected(
                refund_id=refund.refund_id, tenant_id=refund.tenant_id, account_id=refund.account_id,
                quantity=refund.quantity, available=available, reason=exc.detail,
            )
            await outbox.enqueue(conn, _answer(events.REFUND_REJECTED, refund.tenant_id, refund.account_id, rejected))
            log.info("refund_rejected", refund_id=str(refund.refund_id), quantity=refund.quantity, available=available)
            return False
        # A replay (another event for a refund already debited) was answered with the debit itself.
        if not posted.replayed:
            debited = events.RefundDebited(
                refund_id=refund.refund_id, tenant_id=refund.tenant_id, account_id=refund.account_id,
                quantity=refund.quantity, transaction_id=posted.id, seq=posted.seq,
            )
            await outbox.enqueue(conn, _answer(events.REFUND_DEBITED, refund.tenant_id, refund.account_id, debited))
    log.info("refund_debited", refund_id=str(refund.refund_id), quantity=refund.quantity, seq=posted.seq,
             replayed=posted.replayed)
    return not posted.replayed


def _debit(refund: RefundRequested) -> PostingRequest:
    return PostingRequest(
        tenant_id=refund.tenant_id,
        kind="refund",
        idempotency_key=f"refund:{refund.refund_id}",
        request_hash=request_fingerprint({"account": refund.account_code, "quantity": refund.quantity}),
        # Refunded credits go back where purchased ones come from: the outside.
        movements=[domain.Movement(refund.account_code, -refund.quantity), domain.Movement(WORLD, refund.quantity)],
        actor_user_id=refund.requested_by,
        reference=f"refund:{refund.refund_id}",
        note=f"Refund of {refund.quantity:,} credits of invoice {refund.invoice_number}",
    )


async def _available(conn: asyncpg.Connection, tenant_id: uuid.UUID, code: str) -> int:
    found = await store.fetch_accounts(conn, tenant_id, [code])
    return found[code].available if code in found else 0


async def restore_refund(pool: asyncpg.Pool, event_id: uuid.UUID, failed: RefundFailed) -> bool:
    """The provider refused the refund: give back the credits its debit took (compensation).
    True when they were given back now."""
    async with pool.acquire() as conn, conn.transaction():
        if not await first_delivery(conn, REFUNDS_CONSUMER, event_id):
            return False
        if await store.find_transaction(conn, failed.tenant_id, f"refund:{failed.refund_id}") is None:
            log.warning("refund_restore_without_debit", refund_id=str(failed.refund_id))
            return False
        posted = await post(conn, _restore(failed))
        if not posted.replayed:
            restored = events.RefundRestored(
                refund_id=failed.refund_id, tenant_id=failed.tenant_id, account_id=failed.account_id,
                quantity=failed.quantity, transaction_id=posted.id, seq=posted.seq,
            )
            await outbox.enqueue(conn, _answer(events.REFUND_RESTORED, failed.tenant_id, failed.account_id, restored))
    log.warning("refund_credits_restored", refund_id=str(failed.refund_id), quantity=failed.quantity,
                reason=failed.reason, seq=posted.seq, replayed=posted.replayed)
    return not posted.replayed


def _restore(failed: RefundFailed) -> PostingRequest:
    return PostingRequest(
        tenant_id=failed.tenant_id,
        kind="refund",
        idempotency_key=f"refund:{failed.refund_id}:restore",
        request_hash=request_fingerprint({"account": failed.account_code, "quantity": failed.quantity}),
        movements=[domain.Movement(WORLD, -failed.quantity), domain.Movement(failed.account_code, failed.quantity)],
        actor_user_id=failed.requested_by,
        reference=f"refund:{failed.refund_id}",
        note=f"Refund failed at the payment provider ({failed.reason}): credits restored",
    )
