"""The invariants in SQL: each query counts the rows that break one of the ledger's promises (double entry
holds, every balance is the sum of its postings, no user-facing account is overdrawn, and reserved
credits match the open holds, each tenant's events are numbered without a gap, the lots hold every
credit)."""

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
    # Every credit of a user-facing account is in a lot: an account's lots hold its balance, and what its
    # holds reserve of them is what it holds reserved.
    "lots_hold_the_balance": """
        SELECT count(*) FROM accounts a
        LEFT JOIN (SELECT account_id, sum(remaining) AS remaining, sum(reserved) AS reserved FROM lot_holdings
                   GROUP BY account_id) h ON h.account_id = a.id
        WHERE a.kind IN ('system', 'user')
          AND (a.balance <> coalesce(h.remaining, 0) OR a.held <> coalesce(h.reserved, 0))""",
    # No lot is held anywhere beyond what it granted.
    "lots_within_their_quantity": """
        SELECT count(*) FROM lots l JOIN (SELECT lot_id, sum(remaining) AS held FROM lot_holdings GROUP BY lot_id) h
               ON h.lot_id = l.id
        WHERE h.held > l.quantity""",
    # Subscribers detect a missed event by its number: each tenant's numbers must be 1..n with n the
    # stream's last, and every transaction announced exactly once in the log.
    "event_log_gapless": """
        SELECT count(*) FROM event_streams s
        LEFT JOIN (SELECT tenant_id, count(*) AS n, min(sequence) AS first, max(sequence) AS last
                   FROM event_log GROUP BY tenant_id) l ON l.tenant_id = s.tenant_id
        WHERE s.last_sequence <> coalesce(l.n, 0) OR coalesce(l.last, 0) <> s.last_sequence
           OR coalesce(l.first, 1) <> 1""",
    "every_transaction_logged_once": """
        SELECT count(*) FROM transactions t
        LEFT JOIN (SELECT (envelope->'data'->>'transaction_id')::uuid AS id, count(*) AS n FROM event_log
                   WHERE type = 'com.smscredits.ledger.transaction.posted' GROUP BY 1) l ON l.id = t.id
        WHERE coalesce(l.n, 0) <> 1""",
}


async def violations(conn: asyncpg.Connection, name: str) -> int:
    return int(await conn.fetchval(CHECKS[name]))
