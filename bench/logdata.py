"""Millions of 30-day log rows written straight into reporting's database with generate_series, never
by pushing events: the log query and the CSV are measured over a table the size of a busy tenant base.

Account 0 (the first user of the first tenant) gets `heavy_rows` rows within the last 29 days: its CSV
is the million-row download. The other rows are spread evenly over every other account and over the
last 35 days, so the 30-day filter has rows to leave out.

The secondary indexes are built after the load, as a restore or a REINDEX leaves them; grown row by row
they can lead the planner to a different plan for the heavy account, so the plan it got is reported.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from bench.seed import Directory
from common.accounts import user_code
from services.reporting.logs import store

_CHUNK = 500_000  # rows per statement: progress to print, and no single huge transaction

# Ids are built from the row number: the primary key and the one-entry-per-posting index then fill in
# order, and millions of rows go in quickly. (Real ids are uuid5 hashes; no query depends on their order.)
_GENERATE = """
INSERT INTO log_entries (id, tenant_id, account_id, account_code, ledger_seq, transaction_id, occurred_at,
                         direction, quantity, kind, balance_after, counterparty_code, actor_user_id, reference,
                         note, reservation)
SELECT lpad(to_hex(g), 32, '0')::uuid, a.tenant_id, a.account_id, a.code, g, lpad(to_hex(g), 32, '0')::uuid,
       now() - random() * CASE WHEN g <= $3 THEN interval '29 days' ELSE interval '35 days' END,
       CASE WHEN g % 2 = 0 THEN 'in' ELSE 'out' END, 1 + g % 9,
       (ARRAY['transfer', 'transfer', 'transfer', 'capture', 'purchase'])[1 + g % 5], 1000 + g % 5000,
       c.code, a.actor, CASE WHEN g % 5 = 3 THEN 'message:' || g END,
       CASE WHEN g % 4 = 0 THEN 'Open home Saturday, 10am "' || g || '"' END, false
FROM generate_series($1::bigint, $2::bigint) AS g
JOIN bench_accounts a ON a.n = CASE WHEN g <= $3 THEN 0 ELSE 1 + g % ($4 - 1) END
JOIN bench_accounts c ON c.n = (g * 7 + 3) % $4
"""


# The log table's indexes other than those behind its constraints (which cannot be dropped alone).
_SECONDARY_INDEXES = """
SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition
FROM pg_index i
WHERE i.indrelid = 'log_entries'::regclass
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
"""


@dataclass(frozen=True)
class LogData:
    rows: int
    heavy_rows: int
    seconds: float


async def generate(dsn: str, directory: Directory, rows: int, heavy_rows: int) -> LogData:
    started = time.monotonic()
    accounts = [
        (n, seeded.tenant.id, seeded.account(person)[0], user_code(person.id), seeded.master.id)
        for n, (seeded, person) in enumerate((s, p) for s in directory.tenants for p in s.users)
    ]
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("""CREATE TEMP TABLE bench_accounts (n int PRIMARY KEY, tenant_id uuid, account_id uuid,
                                                                code text, actor uuid)""")
        await conn.copy_records_to_table("bench_accounts", records=accounts)
        await conn.execute("""INSERT INTO log_accounts (account_id, tenant_id, account_code)
                              SELECT account_id, tenant_id, code FROM bench_accounts ON CONFLICT DO NOTHING""")
        # Built once after the load instead of row by row: several times faster. The definitions are read
        # from the catalogue, so whatever indexes reporting's migrations create are the ones measured.
        indexes = await conn.fetch(_SECONDARY_INDEXES)
        for index in indexes:
            await conn.execute(f"DROP INDEX {index['name']}")  # regclass text: quoted as needed
        for first in range(1, rows + 1, _CHUNK):
            await conn.execute(_GENERATE, first, min(first + _CHUNK - 1, rows), heavy_rows, len(accounts))
            print(f"  {min(first + _CHUNK - 1, rows):,} of {rows:,} log rows ({time.monotonic() - started:.0f} s)",
                  flush=True)
        await conn.execute("SET maintenance_work_mem = '256MB'")
        for index in indexes:
            await conn.execute(index["definition"])
        # What autovacuum would have done by the time such a table is queried: statistics for the
        # planner and a visibility map for index-only scans.
        await conn.execute("VACUUM (ANALYZE) log_entries")
    finally:
        await conn.close()
    return LogData(rows, heavy_rows, round(time.monotonic() - started, 1))


async def page_plan(dsn: str, tenant_id: uuid.UUID, account: uuid.UUID) -> str:
    """How Postgres reads one account's first page (reporting's own query), scans only: which index,
    and whether it reads every row of the period or stops after a page."""
    sql = getattr(store, "_NAMED_ACCOUNTS_PAGE", None)  # private to reporting: skipped if it goes away
    if sql is None:
        return "unknown"
    now = datetime.now(UTC)
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + sql, tenant_id, [account],
                                now - timedelta(days=30), None, None, now + timedelta(days=1),
                                uuid.UUID(int=2**128 - 1), 101)
    finally:
        await conn.close()
    scans = [r[0].strip().lstrip("-> ") for r in rows if "Scan" in r[0] and "Function Scan" not in r[0]]
    return "; ".join(scans)
