"""The ledger's SQL. Parameterised statements only; no rules here."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from common.accounts import account_id, kind_of
from services.ledger.domain import Account, PlannedPosting

_ACCOUNT_COLUMNS = "id, tenant_id, code, kind, balance, held"


def _account(row: asyncpg.Record) -> Account:
    return Account(**dict(row))


async def open_accounts(conn: asyncpg.Connection, tenant_id: uuid.UUID, codes: Sequence[str]) -> None:
    """Create the accounts that do not exist yet, in id order so concurrent openers never deadlock."""
    rows = sorted((account_id(tenant_id, code), code, kind_of(code)) for code in set(codes))
    await conn.execute(
        """INSERT INTO accounts (id, tenant_id, code, kind)
           SELECT id, $1, code, kind FROM unnest($2::uuid[], $3::text[], $4::text[]) AS t(id, code, kind)
           ON CONFLICT (id) DO NOTHING""",
        tenant_id,
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
    )


async def lock_accounts(
    conn: asyncpg.Connection, tenant_id: uuid.UUID, codes: Sequence[str]
) -> dict[str, Account]:
    """Row-lock the accounts in id order: every writer takes locks in the same order, so two
    transfers A->B and B->A wait for each other instead of deadlocking."""
    ids = sorted({account_id(tenant_id, code) for code in codes})
    rows = await conn.fetch(
        f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE",  # noqa: S608
        ids,
    )
    return {row["code"]: _account(row) for row in rows}


async def fetch_accounts(
    conn: asyncpg.Connection, tenant_id: uuid.UUID, codes: Sequence[str]
) -> dict[str, Account]:
    rows = await conn.fetch(
        f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE tenant_id = $1 AND code = ANY($2::text[])",  # noqa: S608
        tenant_id,
        list(codes),
    )
    return {row["code"]: _account(row) for row in rows}


@dataclass(frozen=True)
class StoredTransaction:
    id: uuid.UUID
    seq: int
    kind: str
    request_hash: str
    created_at: datetime


async def find_transaction(
    conn: asyncpg.Connection, tenant_id: uuid.UUID, idempotency_key: str
) -> StoredTransaction | None:
    row = await conn.fetchrow(
        """SELECT id, seq, kind, request_hash, created_at FROM transactions
           WHERE tenant_id = $1 AND idempotency_key = $2""",
        tenant_id,
        idempotency_key,
    )
    return StoredTransaction(**dict(row)) if row else None


async def insert_transaction(
    conn: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID,
    kind: str,
    idempotency_key: str,
    request_hash: str,
    actor_user_id: uuid.UUID | None,
    reference: str | None,
    note: str | None,
    terms_version: str | None,
) -> StoredTransaction:
    row = await conn.fetchrow(
        """INSERT INTO transactions (id, tenant_id, kind, idempotency_key, request_hash,
                                     actor_user_id, reference, note, terms_version)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           RETURNING id, seq, kind, request_hash, created_at""",
        uuid.uuid4(), tenant_id, kind, idempotency_key, request_hash,
        actor_user_id, reference, note, terms_version,
    )
    assert row is not None
    return StoredTransaction(**dict(row))


async def insert_postings(
    conn: asyncpg.Connection, transaction_id: uuid.UUID, postings: Sequence[PlannedPosting]
) -> None:
    await conn.execute(
        """INSERT INTO postings (transaction_id, account_id, amount, balance_after, held_after)
           SELECT $1, * FROM unnest($2::uuid[], $3::bigint[], $4::bigint[], $5::bigint[])""",
        transaction_id,
        [p.account_id for p in postings],
        [p.amount for p in postings],
        [p.balance_after for p in postings],
        [p.held_after for p in postings],
    )


async def update_balances(conn: asyncpg.Connection, postings: Sequence[PlannedPosting]) -> None:
    # The last posting per account carries its final balance (an account may appear twice).
    final = {p.account_id: (p.balance_after, p.held_after) for p in postings}
    await conn.execute(
        """UPDATE accounts AS a SET balance = t.balance, held = t.held
           FROM unnest($1::uuid[], $2::bigint[], $3::bigint[]) AS t(id, balance, held)
           WHERE a.id = t.id""",
        list(final),
        [v[0] for v in final.values()],
        [v[1] for v in final.values()],
    )


async def transaction_postings(conn: asyncpg.Connection, transaction_id: uuid.UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT p.account_id, a.code, p.amount, p.balance_after, p.held_after
           FROM postings p JOIN accounts a ON a.id = p.account_id
           WHERE p.transaction_id = $1 ORDER BY p.id""",
        transaction_id,
    )
