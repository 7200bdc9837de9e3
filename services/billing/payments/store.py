"""Payments' SQL: a declined attempt at paying a purchase that stays open for another card."""

from __future__ import annotations

import uuid

import asyncpg

from services.billing.payments.provider import CardSummary


async def record_declined_attempt(
    conn: asyncpg.Connection, purchase_id: uuid.UUID, reason: str, card: CardSummary | None
) -> None:
    """The latest decline, on a purchase that stays pending (the provider keeps every attempt)."""
    await conn.execute(
        """UPDATE purchases SET failure_reason = $2, card_brand = $3, card_last4 = $4, failed_at = now()
           WHERE id = $1 AND status = 'pending'""",
        purchase_id, reason, card.brand if card else None, card.last4 if card else None,
    )
