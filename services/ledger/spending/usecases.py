"""Settling a message's hold. One transaction: the inbox row and the capture (or void) commit together,
so a redelivered settlement changes nothing; the capture's reference is the hold's, which names the
message."""

from __future__ import annotations

import uuid

import asyncpg

from common.bus import PoisonEvent
from common.contracts import queues
from common.contracts.events import MessageSettled
from common.inbox import first_delivery
from common.logs import get_logger
from common.problems import DomainError
from services.ledger.holds import usecases as holds

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
