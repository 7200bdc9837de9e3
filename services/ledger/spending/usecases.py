"""Settling a message's hold. One transaction: the inbox row and the capture (or void) commit together,
so a redelivered settlement changes nothing; the capture's reference is the hold's, which names the
message."""

from __future__ import annotations

import uuid

import asyncpg

from common.accounts import owner_of
from common.bus import PoisonEvent
from common.contracts import queues
from common.contracts.events import MessageSettled, MessageUndelivered
from common.inbox import first_delivery
from common.logs import get_logger
from common.problems import DomainError
from services.ledger.holds import store as holds_store
from services.ledger.holds import usecases as holds
from services.ledger.lots import domain as lots_domain
from services.ledger.lots import store as lots_store
from services.ledger.postings import store as postings_store
from services.ledger.postings.usecases import post
from services.ledger.spending import domain, store

log = get_logger(__name__)


async def settle_message(pool: asyncpg.Pool, event_id: uuid.UUID, settled: MessageSettled) -> bool:
    """Capture what the carrier accepted, exactly once. True when the hold was settled now."""
    async with pool.acquire() as conn, conn.transaction():
        if not await first_delivery(conn, queues.LEDGER_SPENDING.name, event_id):
            return False
        try:
            applied = await holds.settle(conn, settled.hold_id, settled.tenant_id, settled.captured_credits)
        except DomainError as exc:
            # The hold is gone, expired, or smaller than what was sent: messages went out that the ledger
            # cannot charge for. Never guess: park the event, with the reason, for an operator.
            log.error("message_settlement_refused", message_id=str(settled.message_id),
                      hold_id=str(settled.hold_id), reason=exc.detail)
            raise PoisonEvent(f"message {settled.message_id}: {exc.detail}") from exc
    log.info("message_credits_captured" if applied else "message_already_settled",
             message_id=str(settled.message_id), captured=settled.captured_credits)
    return applied


async def give_back_undelivered(pool: asyncpg.Pool, event_id: uuid.UUID, undelivered: MessageUndelivered) -> bool:
    """Give back an undelivered recipient's captured credits, once, where the tenant's policy says so:
    one transaction with the inbox row. True when they came back now."""
    async with pool.acquire() as conn, conn.transaction():
        if not await first_delivery(conn, queues.LEDGER_SPENDING.name, event_id):
            return False
        hold = await holds_store.hold(conn, undelivered.hold_id, lock=True)  # holds before accounts, as always
        if hold is None or hold["tenant_id"] != undelivered.tenant_id:
            raise PoisonEvent(f"message {undelivered.message_id}: no such hold {undelivered.hold_id}")
        if await postings_store.find_transaction(conn, undelivered.tenant_id, domain.refund_key(undelivered)):
            return False  # given back already: a repeated announcement
        if not await store.refunds_undelivered(conn, undelivered.tenant_id):
            log.info("undelivered_kept_charged", message_id=str(undelivered.message_id), refund_undelivered=False)
            return False
        earlier, given = await store.given_back(conn, undelivered.hold_id)
        if not domain.check_give_back(hold["status"], hold["captured"], given, undelivered.credits):
            return False
        key = f"hold:{undelivered.hold_id}:capture"
        capture = await postings_store.find_transaction(conn, undelivered.tenant_id, key)
        taken = await lots_store.taken_by(conn, capture.id) if capture else []
        refill = lots_domain.refill_for(taken, await lots_store.refilled_by(conn, earlier), undelivered.credits)
        # The tenant's posting lock before reading where the credits go: a credit-mode switch waits for us.
        await postings_store.lock_tenant_postings(conn, undelivered.tenant_id)
        mode, can_receive = await store.receiving_facts(conn, undelivered.tenant_id, owner_of(hold["code"]))
        target = domain.give_back_to(hold["code"], mode, can_receive)
        posted = await post(conn, domain.delivery_refund(undelivered, target, hold["reference"], refill))
    log.info("undelivered_credits_given_back", message_id=str(undelivered.message_id), credits=undelivered.credits,
             status=undelivered.status, replayed=posted.replayed)
    return not posted.replayed
