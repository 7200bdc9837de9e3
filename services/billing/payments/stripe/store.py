"""The Stripe provider's SQL: payment pages (their capability tokens) and each person's Customer."""

from __future__ import annotations

import uuid

import asyncpg


async def insert_checkout(
    conn: asyncpg.Connection, token: str, purchase_id: uuid.UUID, tenant_id: uuid.UUID, payment_intent_id: str
) -> None:
    await conn.execute(
        """INSERT INTO stripe_checkouts (token, purchase_id, tenant_id, payment_intent_id)
           VALUES ($1, $2, $3, $4)""",
        token, purchase_id, tenant_id, payment_intent_id,
    )


async def checkout(conn: asyncpg.Connection, token: str) -> asyncpg.Record | None:
    """The page's purchase as the page shows it."""
    return await conn.fetchrow(
        """SELECT c.token, c.payment_intent_id, p.id AS purchase_id, p.tenant_id, p.status, p.quantity,
                  p.total_cents, p.currency
           FROM stripe_checkouts c JOIN purchases p ON p.id = c.purchase_id
           WHERE c.token = $1""",
        token,
    )


async def customer_of(conn: asyncpg.Connection, tenant_id: uuid.UUID, user_id: uuid.UUID) -> str | None:
    customer: str | None = await conn.fetchval(
        "SELECT customer_id FROM stripe_customers WHERE tenant_id = $1 AND user_id = $2", tenant_id, user_id
    )
    return customer


async def save_customer(conn: asyncpg.Connection, tenant_id: uuid.UUID, user_id: uuid.UUID, customer_id: str) -> None:
    await conn.execute(
        """INSERT INTO stripe_customers (tenant_id, user_id, customer_id) VALUES ($1, $2, $3)
           ON CONFLICT (tenant_id, user_id) DO NOTHING""",
        tenant_id, user_id, customer_id,
    )
