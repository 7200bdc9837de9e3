"""The holds' SQL. Parameterised statements only; no rules here."""

from __future__ import annotations

import uuid

import asyncpg

_HOLD_COLUMNS = ("h.id, h.tenant_id, h.account_id, a.code, h.quantity, h.captured, h.status, h.reference, h.note, "
                 "h.expires_at")


async def hold(conn: asyncpg.Connection, hold_id: uuid.UUID, *, lock: bool = False) -> asyncpg.Record | None:
    # The hold row is always locked before its account: every path that takes both takes them in
    # that order, so captures, voids and the expiry sweeper cannot deadlock.
    suffix = " FOR UPDATE OF h" if lock else ""
    return await conn.fetchrow(
        f"SELECT {_HOLD_COLUMNS} FROM holds h JOIN accounts a ON a.id = h.account_id WHERE h.id = $1{suffix}",  # noqa: S608
        hold_id,
    )


async def hold_by_key(conn: asyncpg.Connection, tenant_id: uuid.UUID, key: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"""SELECT {_HOLD_COLUMNS}, h.request_hash FROM holds h JOIN accounts a ON a.id = h.account_id
            WHERE h.tenant_id = $1 AND h.idempotency_key = $2""",  # noqa: S608
        tenant_id, key,
    )


async def insert_hold(
    conn: asyncpg.Connection, *, hold_id: uuid.UUID, tenant_id: uuid.UUID, account: uuid.UUID, quantity: int,
    reference: str | None, note: str | None, expires_in: int, key: str, request_hash: str,
) -> None:
    await conn.execute(
        """INSERT INTO holds (id, tenant_id, account_id, quantity, status, reference, note, expires_at,
                              idempotency_key, request_hash)
           VALUES ($1, $2, $3, $4, 'open', $5, $6, clock_timestamp() + make_interval(secs => $7), $8, $9)""",
        hold_id, tenant_id, account, quantity, reference, note, expires_in, key, request_hash,
    )


async def resolve_hold(conn: asyncpg.Connection, hold_id: uuid.UUID, status: str, captured: int) -> None:
    await conn.execute(
        "UPDATE holds SET status = $2, captured = $3, resolved_at = clock_timestamp() WHERE id = $1",
        hold_id, status, captured,
    )


async def expired_hold_ids(conn: asyncpg.Connection, limit: int) -> list[uuid.UUID]:
    rows = await conn.fetch(
        """SELECT id FROM holds WHERE status = 'open' AND expires_at <= clock_timestamp()
           ORDER BY expires_at LIMIT $1""",
        limit,
    )
    return [r["id"] for r in rows]


async def open_holds_count(conn: asyncpg.Connection, tenant_id: uuid.UUID) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM holds WHERE tenant_id = $1 AND status = 'open'", tenant_id))

