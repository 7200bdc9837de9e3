"""The ledger's steps in a refund's saga, one transaction each: the inbox row, the `refund` transaction
(or none) and the answer to billing commit together."""

from __future__ import annotations

import uuid

import asyncpg
from pydantic import BaseModel

from common.contracts import events, queues
from common.contracts.events import Event, RefundFailed, RefundRequested
from common.inbox import first_delivery
from common.logs import get_logger
from services.ledger.accounts import store as accounts_store
from services.ledger.lots import domain as lots_domain
from services.ledger.lots import store as lots_store
from services.ledger.lots.clock import CLOCK
from services.ledger.postings import store as postings_store
from services.ledger.postings.domain import InsufficientCredits
from services.ledger.postings.usecases import post
from services.ledger.refunds import domain

log = get_logger(__name__)

SOURCE = events.source("ledger")


def _answer(event_type: str, tenant_id: uuid.UUID, account_id: uuid.UUID, payload: BaseModel) -> Event:
    subject = events.account_subject(tenant_id, account_id)
    return Event.new(type=event_type, source=SOURCE, subject=subject, data=payload)


async def debit_refund(pool: asyncpg.Pool, event_id: uuid.UUID, refund: RefundRequested) -> bool:
    """Take the credits back from the account they were bought for, only from what is available;
    answer billing either way. True when the credits were taken now."""
    async with pool.acquire() as conn, conn.transaction():
        if not await first_delivery(conn, queues.LEDGER_REFUNDS.name, event_id):
            return False
        lots = await lots_store.lots_by_reference(conn, refund.tenant_id, domain.purchase_reference(refund.purchase_id))
        if not lots:  # credited before lots existed: its credits are in the account's opening lot
            lots = await lots_store.opening_lots(conn, refund.account_id)
        try:
            # A savepoint: a refused debit undoes only itself; the inbox row and the refusal commit.
            async with conn.transaction():
                posted = await post(conn, domain.debit(refund, frozenset(lot.id for lot in lots)))
        except InsufficientCredits as exc:
            await _reject(conn, refund, exc.detail, {lot.id for lot in lots})
            return False
        # A replay (another event for a refund already debited) was answered with the debit itself.
        if not posted.replayed:
            debited = events.RefundDebited(
                refund_id=refund.refund_id, tenant_id=refund.tenant_id, account_id=refund.account_id,
                quantity=refund.quantity, transaction_id=posted.id, seq=posted.seq,
            )
            await postings_store.append_events(conn, refund.tenant_id, [
                _answer(events.REFUND_DEBITED, refund.tenant_id, refund.account_id, debited)])
    log.info("refund_debited", refund_id=str(refund.refund_id), quantity=refund.quantity, seq=posted.seq,
             replayed=posted.replayed)
    return not posted.replayed


async def _reject(conn: asyncpg.Connection, refund: RefundRequested, reason: str, lots: set[uuid.UUID]) -> None:
    available = await _available(conn, refund.tenant_id, refund.account_code, lots)
    rejected = events.RefundRejected(
        refund_id=refund.refund_id, tenant_id=refund.tenant_id, account_id=refund.account_id,
        quantity=refund.quantity, available=available, reason=reason,
    )
    await postings_store.append_events(conn, refund.tenant_id, [
        _answer(events.REFUND_REJECTED, refund.tenant_id, refund.account_id, rejected)])
    log.info("refund_rejected", refund_id=str(refund.refund_id), quantity=refund.quantity, available=available)


async def _available(conn: asyncpg.Connection, tenant_id: uuid.UUID, code: str, lots: set[uuid.UUID]) -> int:
    """What of the purchase could be refunded from the account now: its lots' unspent, unreserved credits."""
    found = await accounts_store.fetch_accounts(conn, tenant_id, [code])
    if code not in found:
        return 0
    held = [h for h in await lots_store.account_lots(conn, found[code].id) if h.lot.id in lots]
    return lots_domain.spendable(held, CLOCK.now())


async def restore_refund(pool: asyncpg.Pool, event_id: uuid.UUID, failed: RefundFailed) -> bool:
    """The provider refused the refund: give back the credits its debit took (compensation).
    True when they were given back now."""
    async with pool.acquire() as conn, conn.transaction():
        if not await first_delivery(conn, queues.LEDGER_REFUNDS.name, event_id):
            return False
        debited = await postings_store.find_transaction(conn, failed.tenant_id, f"refund:{failed.refund_id}")
        if debited is None:
            log.warning("refund_restore_without_debit", refund_id=str(failed.refund_id))
            return False
        posted = await post(conn, domain.restore(failed, await lots_store.taken_by(conn, debited.id)))
        if not posted.replayed:
            restored = events.RefundRestored(
                refund_id=failed.refund_id, tenant_id=failed.tenant_id, account_id=failed.account_id,
                quantity=failed.quantity, transaction_id=posted.id, seq=posted.seq,
            )
            await postings_store.append_events(conn, failed.tenant_id, [
                _answer(events.REFUND_RESTORED, failed.tenant_id, failed.account_id, restored)])
    log.warning("refund_credits_restored", refund_id=str(failed.refund_id), quantity=failed.quantity,
                reason=failed.reason, seq=posted.seq, replayed=posted.replayed)
    return not posted.replayed
