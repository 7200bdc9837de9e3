"""Spending's SQL: what a capture has given back already, and the tenant's policy on undelivered messages."""

from __future__ import annotations

import uuid

import asyncpg


async def given_back(conn: asyncpg.Connection, hold_id: uuid.UUID) -> tuple[list[uuid.UUID], int]:
    """The `delivery_refund` transactions of a hold's capture, and how many credits they gave back."""
    row = await conn.fetchrow(
        """SELECT coalesce(array_agg(DISTINCT t.id), '{}') AS ids, coalesce(sum(p.amount), 0) AS credits
           FROM transactions t JOIN postings p ON p.transaction_id = t.id AND p.amount > 0
           WHERE t.hold_id = $1 AND t.kind = 'delivery_refund'""",
        hold_id,
    )
    assert row is not None
    return list(row["ids"]), int(row["credits"])


async def refunds_undelivered(conn: asyncpg.Connection, tenant_id: uuid.UUID) -> bool:
    """The tenant's policy; a tenant the ledger has not heard of yet has the default (give back)."""
    found = await conn.fetchval("SELECT refund_undelivered FROM tenants WHERE id = $1", tenant_id)
    return True if found is None else bool(found)


async def receiving_facts(
    conn: asyncpg.Connection, tenant_id: uuid.UUID, user_id: uuid.UUID | None
) -> tuple[str | None, bool]:
    """The tenant's credit mode, and whether the user (if any) may still receive credits (active, allowed to
    send SMS). Read under the tenant's posting lock: a switch cannot change them before we commit."""
    row = await conn.fetchrow(
        """SELECT (SELECT credit_mode FROM tenants WHERE id = $1) AS mode,
                  coalesce((SELECT active AND send_sms FROM users WHERE id = $2 AND tenant_id = $1), false)
                      AS can_receive""",
        tenant_id, user_id,
    )
    assert row is not None
    return row["mode"], bool(row["can_receive"])
