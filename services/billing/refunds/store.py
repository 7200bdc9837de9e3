"""Refunds' SQL, parameterised; rows come back as refund objects."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from services.billing.refunds.domain import Refund, RefundAmounts, RefundedSoFar


async def insert_refund(
    conn: asyncpg.Connection,
    refund_id: uuid.UUID,
    purchase_id: uuid.UUID,
    tenant_id: uuid.UUID,
    requested_by: uuid.UUID,
    quantity: int,
    amounts: RefundAmounts,
    key: str,
    fingerprint: str,
) -> bool:
    """False when the tenant already used this idempotency key."""
    inserted = await conn.fetchval(
        """INSERT INTO refunds (id, tenant_id, purchase_id, idempotency_key, request_fingerprint, requested_by,
                                quantity, subtotal_cents, tax_cents, total_cents)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
           RETURNING true""",
        refund_id, tenant_id, purchase_id, key, fingerprint, requested_by, quantity,
        amounts.subtotal_cents, amounts.tax_cents, amounts.total_cents,
    )
    return bool(inserted)


async def find_by_key(conn: asyncpg.Connection, tenant_id: uuid.UUID, key: str) -> tuple[Refund, str] | None:
    row = await conn.fetchrow("SELECT * FROM refunds WHERE tenant_id = $1 AND idempotency_key = $2", tenant_id, key)
    return (_refund(row), row["request_fingerprint"]) if row else None


async def refunded_so_far(conn: asyncpg.Connection, purchase_id: uuid.UUID) -> RefundedSoFar:
    row = await conn.fetchrow(
        """SELECT coalesce(sum(quantity), 0) AS quantity, coalesce(sum(subtotal_cents), 0) AS subtotal,
                  coalesce(sum(tax_cents), 0) AS tax
           FROM refunds WHERE purchase_id = $1 AND status IN ('requested', 'debited', 'refunded')""",
        purchase_id,
    )
    return RefundedSoFar(int(row["quantity"]), int(row["subtotal"]), int(row["tax"]))


async def get_refund(
    conn: asyncpg.Connection, tenant_id: uuid.UUID, purchase_id: uuid.UUID, refund_id: uuid.UUID
) -> Refund | None:
    row = await conn.fetchrow(
        "SELECT * FROM refunds WHERE id = $1 AND tenant_id = $2 AND purchase_id = $3", refund_id, tenant_id, purchase_id
    )
    return _refund(row) if row else None


async def refunds_of_purchase(conn: asyncpg.Connection, tenant_id: uuid.UUID, purchase_id: uuid.UUID) -> list[Refund]:
    rows = await conn.fetch(
        "SELECT * FROM refunds WHERE tenant_id = $1 AND purchase_id = $2 ORDER BY created_at, id",
        tenant_id, purchase_id,
    )
    return [_refund(row) for row in rows]


async def lock_refund(conn: asyncpg.Connection, refund_id: uuid.UUID) -> Refund | None:
    """Each step of one refund queues here: the second finds the status moved on."""
    row = await conn.fetchrow("SELECT * FROM refunds WHERE id = $1 FOR UPDATE", refund_id)
    return _refund(row) if row else None


async def load_refund(conn: asyncpg.Connection, refund_id: uuid.UUID) -> Refund | None:
    row = await conn.fetchrow("SELECT * FROM refunds WHERE id = $1", refund_id)
    return _refund(row) if row else None


async def mark_debited(conn: asyncpg.Connection, refund_id: uuid.UUID, ledger_seq: int) -> None:
    await conn.execute(
        "UPDATE refunds SET status = 'debited', ledger_seq = $2, debited_at = now() WHERE id = $1",
        refund_id, ledger_seq,
    )


async def mark_rejected(conn: asyncpg.Connection, refund_id: uuid.UUID, reason: str) -> None:
    await conn.execute(
        "UPDATE refunds SET status = 'rejected', failure_reason = $2, settled_at = now() WHERE id = $1",
        refund_id, reason,
    )


async def mark_refunded(
    conn: asyncpg.Connection, refund_id: uuid.UUID, provider_refund_id: str, note_number: str, settled_at: datetime
) -> None:
    await conn.execute(
        """UPDATE refunds SET status = 'refunded', provider_refund_id = $2, adjustment_note_number = $3,
                  settled_at = $4
           WHERE id = $1""",
        refund_id, provider_refund_id, note_number, settled_at,
    )


async def mark_failed(conn: asyncpg.Connection, refund_id: uuid.UUID, reason: str) -> None:
    await conn.execute(
        "UPDATE refunds SET status = 'failed', failure_reason = $2, settled_at = now() WHERE id = $1", refund_id, reason
    )


async def mark_restored(conn: asyncpg.Connection, refund_id: uuid.UUID) -> bool:
    done = await conn.fetchval(
        """UPDATE refunds SET credits_restored_at = now()
           WHERE id = $1 AND status = 'failed' AND credits_restored_at IS NULL RETURNING true""",
        refund_id,
    )
    return bool(done)


async def stalled(conn: asyncpg.Connection, older_than_seconds: float) -> list[uuid.UUID]:
    """Refunds whose credits were debited but whose money has not gone back for a while; only those
    younger than 12 hours, while the provider still remembers the refund's idempotency key."""
    rows = await conn.fetch(
        """SELECT id FROM refunds
           WHERE status = 'debited' AND debited_at < now() - make_interval(secs => $1)
             AND debited_at > now() - interval '12 hours'
           ORDER BY debited_at LIMIT 100""",
        older_than_seconds,
    )
    return [row["id"] for row in rows]


def _refund(row: asyncpg.Record) -> Refund:
    return Refund(
        id=row["id"],
        tenant_id=row["tenant_id"],
        purchase_id=row["purchase_id"],
        requested_by=row["requested_by"],
        quantity=row["quantity"],
        amounts=RefundAmounts(row["subtotal_cents"], row["tax_cents"]),
        status=row["status"],
        created_at=row["created_at"],
        failure_reason=row["failure_reason"],
        adjustment_note_number=row["adjustment_note_number"],
        settled_at=row["settled_at"],
        credits_restored_at=row["credits_restored_at"],
    )
