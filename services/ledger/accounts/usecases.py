"""Balances as a caller reads them: now, or as the postings recorded them at a moment."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import asyncpg

from common.accounts import account_id, kind_of
from services.ledger.accounts import store
from services.ledger.postings.domain import Account


async def account_balances(pool: asyncpg.Pool, tenant_id: uuid.UUID, codes: Sequence[str]) -> list[Account]:
    """Balances of the named accounts; one never opened reads as empty."""
    async with pool.acquire() as conn:
        found = await store.fetch_accounts(conn, tenant_id, codes)
    return [
        found.get(code)
        or Account(
            id=account_id(tenant_id, code),
            tenant_id=tenant_id,
            code=code,
            kind=kind_of(code),
            balance=0,
            held=0,
        )
        for code in codes
    ]


async def balance_as_of(pool: asyncpg.Pool, tenant_id: uuid.UUID, code: str, moment: datetime) -> int:
    async with pool.acquire() as conn:
        return await store.balance_as_of(conn, account_id(tenant_id, code), moment)
