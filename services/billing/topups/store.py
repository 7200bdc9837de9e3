"""Auto top-up's SQL: each account's settings and its top-ups."""

from __future__ import annotations

import uuid
from datetime import date

import asyncpg

from services.billing.topups.domain import AutoTopUp

_COLUMNS = (
    "account_id, tenant_id, account_code, payer_user_id, threshold, quantity, daily_cap, status, "
    "suspended_reason, topped_up_through_seq, monthly_cap_cents"
)


def _config(row: asyncpg.Record) -> AutoTopUp:
    return AutoTopUp(**dict(row))


async def save_config(conn: asyncpg.Connection, config: AutoTopUp) -> AutoTopUp:
    """New settings switch auto top-up on again (a suspension ends when someone sets it anew)."""
    row = await conn.fetchrow(
        f"""INSERT INTO auto_top_ups ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', NULL, 0, $8)
           ON CONFLICT (account_id) DO UPDATE
           SET payer_user_id = excluded.payer_user_id, threshold = excluded.threshold,
               quantity = excluded.quantity, daily_cap = excluded.daily_cap, status = 'active',
               suspended_reason = NULL, monthly_cap_cents = excluded.monthly_cap_cents, updated_at = now()
           RETURNING {_COLUMNS}""",  # noqa: S608 - fixed column list
        config.account_id, config.tenant_id, config.account_code, config.payer_user_id, config.threshold,
        config.quantity, config.daily_cap, config.monthly_cap_cents,
    )
    return _config(row)


async def get_config(conn: asyncpg.Connection, tenant_id: uuid.UUID, account_id: uuid.UUID) -> AutoTopUp | None:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM auto_top_ups WHERE account_id = $1 AND tenant_id = $2",  # noqa: S608
        account_id, tenant_id,
    )
    return _config(row) if row else None


async def lock_config(conn: asyncpg.Connection, account_id: uuid.UUID) -> AutoTopUp | None:
    """Decisions about one account's top-ups queue here, so two never both see 'none in flight'."""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM auto_top_ups WHERE account_id = $1 FOR UPDATE", account_id  # noqa: S608
    )
    return _config(row) if row else None


async def active_among(conn: asyncpg.Connection, account_ids: list[uuid.UUID]) -> list[uuid.UUID]:
    rows = await conn.fetch(
        "SELECT account_id FROM auto_top_ups WHERE account_id = ANY($1::uuid[]) AND status = 'active'", account_ids
    )
    return [row["account_id"] for row in rows]


async def set_status(conn: asyncpg.Connection, account_id: uuid.UUID, status: str, reason: str | None) -> None:
    await conn.execute(
        "UPDATE auto_top_ups SET status = $2, suspended_reason = $3, updated_at = now() WHERE account_id = $1",
        account_id, status, reason,
    )


async def in_flight(conn: asyncpg.Connection, account_id: uuid.UUID) -> bool:
    return bool(
        await conn.fetchval("SELECT true FROM top_ups WHERE account_id = $1 AND status = 'charging'", account_id)
    )


async def bought_on(conn: asyncpg.Connection, account_id: uuid.UUID, day: date) -> int:
    value = await conn.fetchval(
        """SELECT coalesce(sum(quantity), 0) FROM top_ups
           WHERE account_id = $1 AND local_day = $2 AND status <> 'failed'""",
        account_id, day,
    )
    return int(value)


async def insert_top_up(
    conn: asyncpg.Connection,
    top_up_id: uuid.UUID,
    config: AutoTopUp,
    purchase_id: uuid.UUID,
    trigger_seq: int,
    day: date,
) -> None:
    await conn.execute(
        """INSERT INTO top_ups (id, account_id, tenant_id, purchase_id, quantity, trigger_seq, local_day)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        top_up_id, config.account_id, config.tenant_id, purchase_id, config.quantity, trigger_seq, day,
    )


async def lock_top_up_of(conn: asyncpg.Connection, purchase_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM top_ups WHERE purchase_id = $1 FOR UPDATE", purchase_id)


async def settle_top_up(conn: asyncpg.Connection, top_up_id: uuid.UUID, status: str) -> None:
    await conn.execute("UPDATE top_ups SET status = $2, settled_at = now() WHERE id = $1", top_up_id, status)


async def advance_seq(conn: asyncpg.Connection, account_id: uuid.UUID, seq: int) -> None:
    await conn.execute(
        """UPDATE auto_top_ups SET topped_up_through_seq = greatest(topped_up_through_seq, $2)
           WHERE account_id = $1""",
        account_id, seq,
    )


async def stalled(conn: asyncpg.Connection, older_than_seconds: float) -> list[asyncpg.Record]:
    """Top-ups still charging a while after they started: their process may have died mid-way.

    Only those younger than 12 hours: a provider remembers an idempotency key for a day (Stripe), and
    charging again after it forgot could charge twice. Older ones are left for a person to look at."""
    return await conn.fetch(
        """SELECT t.purchase_id, c.payer_user_id, c.tenant_id FROM top_ups t
           JOIN auto_top_ups c USING (account_id)
           WHERE t.status = 'charging' AND t.created_at < now() - make_interval(secs => $1)
             AND t.created_at > now() - interval '12 hours'
           ORDER BY t.created_at LIMIT 100""",
        older_than_seconds,
    )


async def charged_between(
    conn: asyncpg.Connection, account_id: uuid.UUID, first: date, before: date, other_than: uuid.UUID
) -> int:
    """Cents (with tax) of the account's top-ups on local days [first, before) that are paid or still
    charging, other than the top-up of purchase `other_than` (the one about to be charged)."""
    value = await conn.fetchval(
        """SELECT coalesce(sum(p.total_cents), 0) FROM top_ups t JOIN purchases p ON p.id = t.purchase_id
           WHERE t.account_id = $1 AND t.local_day >= $2 AND t.local_day < $3
             AND t.status IN ('charging', 'succeeded') AND t.purchase_id <> $4""",
        account_id, first, before, other_than,
    )
    return int(value)


async def top_up_of(conn: asyncpg.Connection, purchase_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT account_id, local_day FROM top_ups WHERE purchase_id = $1", purchase_id)


async def next_watch_version(conn: asyncpg.Connection, account_id: uuid.UUID) -> int:
    """Number the account's next announcement to the ledger (topups.watches), marking it announced."""
    version: int = await conn.fetchval(
        """UPDATE auto_top_ups SET watch_version = watch_version + 1, watch_announced = true
           WHERE account_id = $1 RETURNING watch_version""",
        account_id,
    )
    return version


async def lock_unannounced(conn: asyncpg.Connection, limit: int) -> list[AutoTopUp]:
    """Settings never announced to the ledger, locked; those another process is announcing are skipped."""
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM auto_top_ups WHERE NOT watch_announced ORDER BY account_id LIMIT $1
            FOR UPDATE SKIP LOCKED""",  # noqa: S608 - fixed column list
        limit,
    )
    return [_config(row) for row in rows]
