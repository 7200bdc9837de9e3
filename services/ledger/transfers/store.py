"""The SQL that reads posted transfers back from the journal: one by id, or a page, newest first."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import asyncpg

from common.keyset import Cursor

# A transfer is a transaction of kind 'transfer' with two postings: the negative one is its source, the
# positive one its target. The sides are read per transaction, after the page is cut.
_TRANSFER = """
SELECT t.id, sides.from_code, sides.to_code, sides.quantity, t.note, t.actor_user_id, t.created_at,
       t.terms_version
FROM transactions t
CROSS JOIN LATERAL (
    SELECT max(a.code) FILTER (WHERE p.amount < 0) AS from_code,
           max(a.code) FILTER (WHERE p.amount > 0) AS to_code,
           max(p.amount) AS quantity
    FROM postings p JOIN accounts a ON a.id = p.account_id
    WHERE p.transaction_id = t.id
) AS sides
"""

# Walks transfers_by_tenant_time (migration 0005) newest first and stops after a page. Named accounts
# filter the walk (each transfer's two postings, by postings_by_transaction): a user's page among many
# others' transfers reads further, but never sorts.
_PAGE = f"""{_TRANSFER}
WHERE t.tenant_id = $1 AND t.kind = 'transfer'
  AND t.created_at >= $3 AND t.created_at < $4 AND (t.created_at, t.id) < ($5, $6)
  AND (cardinality($2::uuid[]) = 0
       OR EXISTS (SELECT 1 FROM postings p WHERE p.transaction_id = t.id AND p.account_id = ANY($2::uuid[])))
ORDER BY t.created_at DESC, t.id DESC
LIMIT $7
"""  # noqa: S608 (constant fragments only)


async def transfer(conn: asyncpg.Connection, tenant_id: uuid.UUID, transfer_id: uuid.UUID) -> asyncpg.Record | None:
    sql = _TRANSFER + "WHERE t.id = $1 AND t.tenant_id = $2 AND t.kind = 'transfer'"
    return await conn.fetchrow(sql, transfer_id, tenant_id)


async def transfers_page(
    conn: asyncpg.Connection,
    tenant_id: uuid.UUID,
    account_ids: Sequence[uuid.UUID],
    since: datetime,
    until: datetime,
    before: Cursor,
    rows: int,
) -> list[asyncpg.Record]:
    """Up to `rows` transfers touching any of `account_ids` (all of the tenant's when empty), created in
    [since, until), older than `before`, newest first."""
    return list(await conn.fetch(_PAGE, tenant_id, list(account_ids), since, until, before.created_at,
                                 before.id, rows))
