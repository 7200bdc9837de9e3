"""The account reads: by code, by id, and an account's balance as of a moment from its postings."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import asyncpg

from services.ledger.postings.domain import Account
from services.ledger.postings.store import ACCOUNT_COLUMNS, account_of


async def fetch_accounts(
    conn: asyncpg.Connection, tenant_id: uuid.UUID, codes: Sequence[str]
) -> dict[str, Account]:
    rows = await conn.fetch(
        f"SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE tenant_id = $1 AND code = ANY($2::text[])",  # noqa: S608
        tenant_id,
        list(codes),
    )
    return {row["code"]: account_of(row) for row in rows}


async def account_by_id(conn: asyncpg.Connection, account: uuid.UUID) -> Account | None:
    row = await conn.fetchrow(f"SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1", account)  # noqa: S608
    return account_of(row) if row else None


async def balance_as_of(conn: asyncpg.Connection, account: uuid.UUID, moment: datetime) -> int:
    value = await conn.fetchval(
        """SELECT balance_after FROM postings WHERE account_id = $1 AND created_at <= $2
           ORDER BY created_at DESC, id DESC LIMIT 1""",
        account, moment,
    )
    return int(value or 0)
