"""The SQL that writes the log's rows and remembers which ledger transactions are in it."""

from __future__ import annotations

import dataclasses
import operator
import uuid
from collections.abc import Sequence

import asyncpg

from services.reporting.entries.domain import LogEntry

# In the order of LogEntry's fields, so a record builds an entry positionally (a dict per row costs more
# than the rest of a CSV row's encoding).
COLUMNS = """id, tenant_id, account_id, account_code, ledger_seq, transaction_id, occurred_at, direction,
              quantity, kind, balance_after, counterparty_code, actor_user_id, reference, note, reservation,
              promotional, lot_expires_at"""

# One statement for any number of entries: each column travels as one array.
_INSERT_ENTRIES = f"""
INSERT INTO log_entries ({COLUMNS})
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::bigint[], $6::uuid[], $7::timestamptz[],
                     $8::text[], $9::bigint[], $10::text[], $11::bigint[], $12::text[], $13::uuid[], $14::text[],
                     $15::text[], $16::boolean[], $17::bigint[], $18::timestamptz[])
"""  # noqa: S608 (a constant column list, no input)
_ENTRY_FIELDS = operator.attrgetter(*(f.name for f in dataclasses.fields(LogEntry)))

# A rebuild makes every row what the journal says, but writes only rows that differ: replaying over a
# complete log then changes nothing and leaves no dead tuples behind.
_REPAIR = """
ON CONFLICT (id) DO UPDATE SET
    tenant_id = EXCLUDED.tenant_id, account_id = EXCLUDED.account_id, account_code = EXCLUDED.account_code,
    ledger_seq = EXCLUDED.ledger_seq, transaction_id = EXCLUDED.transaction_id,
    occurred_at = EXCLUDED.occurred_at, direction = EXCLUDED.direction, quantity = EXCLUDED.quantity,
    kind = EXCLUDED.kind, balance_after = EXCLUDED.balance_after,
    counterparty_code = EXCLUDED.counterparty_code, actor_user_id = EXCLUDED.actor_user_id,
    reference = EXCLUDED.reference, note = EXCLUDED.note, reservation = EXCLUDED.reservation,
    promotional = EXCLUDED.promotional, lot_expires_at = EXCLUDED.lot_expires_at
WHERE (log_entries.tenant_id, log_entries.account_id, log_entries.account_code, log_entries.ledger_seq,
       log_entries.transaction_id, log_entries.occurred_at, log_entries.direction, log_entries.quantity,
       log_entries.kind, log_entries.balance_after, log_entries.counterparty_code, log_entries.actor_user_id,
       log_entries.reference, log_entries.note, log_entries.reservation, log_entries.promotional,
       log_entries.lot_expires_at)
   IS DISTINCT FROM
      (EXCLUDED.tenant_id, EXCLUDED.account_id, EXCLUDED.account_code, EXCLUDED.ledger_seq,
       EXCLUDED.transaction_id, EXCLUDED.occurred_at, EXCLUDED.direction, EXCLUDED.quantity,
       EXCLUDED.kind, EXCLUDED.balance_after, EXCLUDED.counterparty_code, EXCLUDED.actor_user_id,
       EXCLUDED.reference, EXCLUDED.note, EXCLUDED.reservation, EXCLUDED.promotional,
       EXCLUDED.lot_expires_at)
"""


async def insert_entries(conn: asyncpg.Connection, entries: Sequence[LogEntry], *, repair: bool = False) -> None:
    """Insert entries not recorded yet. A posting already in the log is left as it is, or with
    `repair` made what `entries` say (a rebuild from the ledger's journal)."""
    if not entries:
        return
    # In id order, so two writers of overlapping rows (the consumer and a rebuild) take the keys in the
    # same order and one waits for the other instead of deadlocking; one row per id, as one statement
    # may not update a row twice.
    unique = sorted({entry.id: entry for entry in entries}.values(), key=operator.attrgetter("id"))
    conflict = _REPAIR if repair else "ON CONFLICT DO NOTHING"
    await conn.execute(_INSERT_ENTRIES + conflict, *zip(*map(_ENTRY_FIELDS, unique), strict=True))
    accounts = sorted({(e.account_id, e.tenant_id, e.account_code) for e in unique})
    await conn.execute(
        """INSERT INTO log_accounts (account_id, tenant_id, account_code)
           SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[]) ON CONFLICT DO NOTHING""",
        *zip(*accounts, strict=True),
    )


async def mark_all_applied(conn: asyncpg.Connection, applied: Sequence[tuple[int, uuid.UUID, uuid.UUID]]) -> None:
    """(seq, transaction_id, tenant_id) of each transaction applied."""
    if not applied:
        return
    await conn.execute(
        """INSERT INTO applied_transactions (seq, transaction_id, tenant_id)
           SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::uuid[]) AS a ORDER BY 1
           ON CONFLICT (seq) DO NOTHING""",
        *zip(*applied, strict=True),
    )


async def is_applied(conn: asyncpg.Connection, seq: int) -> bool:
    return bool(await conn.fetchval("SELECT true FROM applied_transactions WHERE seq = $1", seq))
