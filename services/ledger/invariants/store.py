"""The invariants in SQL: each query counts the rows that break one of the ledger's promises (double entry
holds, every balance is the sum of its postings, no user-facing account is overdrawn, and reserved
credits match the open holds)."""

from __future__ import annotations

import asyncpg

CHECKS: dict[str, str] = {
    "transactions_balanced": """
        SELECT count(*) FROM (SELECT transaction_id FROM postings GROUP BY transaction_id
                              HAVING sum(amount) <> 0) AS unbalanced""",
    "postings_sum_to_zero": "SELECT CASE WHEN coalesce(sum(amount), 0) = 0 THEN 0 ELSE 1 END FROM postings",
    "balances_equal_postings": """
        SELECT count(*) FROM accounts a
        LEFT JOIN (SELECT account_id, sum(amount) AS total FROM postings GROUP BY account_id) p
               ON p.account_id = a.id
        WHERE a.balance <> coalesce(p.total, 0)""",
    "no_user_facing_account_negative": """
        SELECT count(*) FROM accounts WHERE kind IN ('system', 'user') AND (balance - held < 0 OR held < 0)""",
    "held_equals_open_holds": """
        SELECT count(*) FROM accounts a
        LEFT JOIN (SELECT account_id, sum(quantity) AS total FROM holds WHERE status = 'open'
                   GROUP BY account_id) h ON h.account_id = a.id
        WHERE a.held <> coalesce(h.total, 0)""",
}


async def violations(conn: asyncpg.Connection, name: str) -> int:
    return int(await conn.fetchval(CHECKS[name]))
