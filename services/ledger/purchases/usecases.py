"""Crediting a paid purchase: the inbox row and the `purchase` transaction commit together."""

from __future__ import annotations

import uuid

import asyncpg

from common.contracts import queues
from common.contracts.events import PurchasePaid
from common.idempotency import request_fingerprint
from common.inbox import first_delivery
from services.ledger.lots.rules import LotRules, NewLot
from services.ledger.postings.domain import PostingRequest
from services.ledger.postings.usecases import post
from services.ledger.purchases import domain


async def credit_purchase(pool: asyncpg.Pool, event_id: uuid.UUID, paid: PurchasePaid) -> bool:
    """Credit a paid purchase exactly once. False when this event, or another event for the same
    purchase, was applied before."""
    async with pool.acquire() as conn, conn.transaction():
        if not await first_delivery(conn, queues.LEDGER_PURCHASES.name, event_id):
            return False
        posted = await post(
            conn,
            PostingRequest(
                tenant_id=paid.tenant_id,
                kind="purchase",
                # Keyed by the purchase, not the event: even two distinct events for one purchase
                # credit it once.
                idempotency_key=f"purchase:{paid.purchase_id}",
                request_hash=request_fingerprint(
                    {"account": paid.account_code, "quantity": paid.quantity}
                ),
                movements=domain.purchase_movements(paid.account_code, paid.quantity),
                actor_user_id=paid.buyer_user_id,
                reference=f"purchase:{paid.purchase_id}",
                note=f"Invoice {paid.invoice_number}",
                # The purchase's credits are a lot of their own: paid, lapsing when the price list said.
                lots=LotRules(new_lot=NewLot("purchase", True, paid.credits_expire_at, f"purchase:{paid.purchase_id}")),
            ),
        )
        return not posted.replayed
