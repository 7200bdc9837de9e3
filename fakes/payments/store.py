"""The test processor's SQL: its sessions, charges, owed webhooks, vault and refunds (its side, not
billing's), in the tables of its own migrations."""

from __future__ import annotations

import uuid

import asyncpg

from fakes.payments.cards import ChargeOutcome
from services.billing.payments.provider import CardSummary, CheckoutOrder


async def insert_session(conn: asyncpg.Connection, session_id: str, order: CheckoutOrder) -> None:
    await conn.execute(
        """INSERT INTO test_provider_sessions
               (id, purchase_id, tenant_id, quantity, total_cents, currency, description)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        session_id, order.purchase_id, order.tenant_id, order.quantity, order.total_cents,
        order.currency, order.description,
    )


async def insert_session_unless_purchase_has_one(
    conn: asyncpg.Connection, session_id: str, order: CheckoutOrder
) -> None:
    """For a charge of a saved card: a session of the purchase that a charge at the same moment (another
    replica's sweeper) inserted first wins; this waits for it to commit, then inserts nothing."""
    await conn.execute(
        """INSERT INTO test_provider_sessions
               (id, purchase_id, tenant_id, quantity, total_cents, currency, description)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (purchase_id) DO NOTHING""",
        session_id, order.purchase_id, order.tenant_id, order.quantity, order.total_cents,
        order.currency, order.description,
    )


async def get_session(conn: asyncpg.Connection, session_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM test_provider_sessions WHERE id = $1", session_id)


async def lock_session(conn: asyncpg.Connection, session_id: str) -> asyncpg.Record | None:
    """Two payments of one session queue here, and the second finds it completed."""
    return await conn.fetchrow("SELECT * FROM test_provider_sessions WHERE id = $1 FOR UPDATE", session_id)


async def record_charge(
    conn: asyncpg.Connection,
    session_id: str,
    charge_id: str,
    card: CardSummary,
    failure_code: str | None,
    decline_is_final: bool = True,
) -> None:
    """One attempt at paying the session. A success completes it; a decline completes it only when the
    buyer is away (a saved card's charge): on the checkout page the buyer may try another card."""
    outcome = "declined" if failure_code else "succeeded"
    if failure_code is None or decline_is_final:
        await conn.execute(
            "UPDATE test_provider_sessions SET status = $2, completed_at = now() WHERE id = $1",
            session_id, outcome,
        )
    await conn.execute(
        """INSERT INTO test_provider_charges (id, session_id, outcome, card_brand, card_last4, failure_code)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        charge_id, session_id, outcome, card.brand, card.last4, failure_code,
    )


async def owe_webhook(
    conn: asyncpg.Connection, event_id: str, session_id: str, body: str, first_retry_seconds: float
) -> None:
    await conn.execute(
        """INSERT INTO test_provider_webhooks (event_id, session_id, body, next_attempt_at)
           VALUES ($1, $2, $3, now() + make_interval(secs => $4))""",
        event_id, session_id, body, first_retry_seconds,
    )


async def claim_due_webhooks(
    conn: asyncpg.Connection, limit: int, retry_seconds: float
) -> list[asyncpg.Record]:
    """Take the webhooks due for another attempt and push their next attempt back (linear back-off,
    capped), so that another process, or the next round, does not send them at the same time."""
    return await conn.fetch(
        """UPDATE test_provider_webhooks w
           SET attempts = w.attempts + 1,
               next_attempt_at = now() + make_interval(secs => $2 * least(w.attempts + 1, 12))
           WHERE w.event_id IN (
               SELECT event_id FROM test_provider_webhooks
               WHERE delivered_at IS NULL AND next_attempt_at <= now()
               ORDER BY next_attempt_at LIMIT $1
               FOR UPDATE SKIP LOCKED)
           RETURNING w.event_id, w.body""",
        limit, retry_seconds,
    )


async def mark_delivered(conn: asyncpg.Connection, event_id: str) -> None:
    await conn.execute(
        "UPDATE test_provider_webhooks SET delivered_at = now() WHERE event_id = $1 AND delivered_at IS NULL",
        event_id,
    )


async def session_of_purchase(conn: asyncpg.Connection, purchase_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT * FROM test_provider_sessions WHERE purchase_id = $1 FOR UPDATE", purchase_id
    )


async def charge_of_session(conn: asyncpg.Connection, session_id: str) -> asyncpg.Record | None:
    """The charge that completed the session: the one that paid, else the latest attempt."""
    return await conn.fetchrow(
        """SELECT * FROM test_provider_charges WHERE session_id = $1
           ORDER BY outcome = 'succeeded' DESC, created_at DESC, id LIMIT 1""",
        session_id,
    )


async def attempts_of_session(conn: asyncpg.Connection, session_id: str) -> list[asyncpg.Record]:
    """Every attempt at paying the session, oldest first (declines included)."""
    return await conn.fetch(
        "SELECT * FROM test_provider_charges WHERE session_id = $1 ORDER BY created_at, id", session_id
    )


async def save_token(conn: asyncpg.Connection, token: str, card: CardSummary, outcome: ChargeOutcome) -> None:
    await conn.execute(
        """INSERT INTO test_provider_tokens (token, card_brand, card_last4, decline_code, refund_fails)
           VALUES ($1, $2, $3, $4, $5)""",
        token, card.brand, card.last4, outcome.saved_card_decline_code, outcome.refund_fails,
    )


async def get_token(conn: asyncpg.Connection, token: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM test_provider_tokens WHERE token = $1", token)


async def mark_charge_details(
    conn: asyncpg.Connection, charge_id: str, refund_fails: bool, token: str | None
) -> None:
    await conn.execute(
        "UPDATE test_provider_charges SET refund_fails = $2, token = $3 WHERE id = $1", charge_id, refund_fails, token
    )


async def refunds_of_session(conn: asyncpg.Connection, session_id: str) -> list[asyncpg.Record]:
    return await conn.fetch("SELECT * FROM test_provider_refunds WHERE session_id = $1", session_id)


async def insert_refund(
    conn: asyncpg.Connection, key: str, refund_id: str, session_id: str, amount_cents: int
) -> None:
    await conn.execute(
        """INSERT INTO test_provider_refunds (idempotency_key, id, session_id, amount_cents)
           VALUES ($1, $2, $3, $4)""",
        key, refund_id, session_id, amount_cents,
    )
