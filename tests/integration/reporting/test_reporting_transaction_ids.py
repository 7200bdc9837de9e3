"""Every log row names its ledger transaction (JSON and CSV), and a transfer's rows carry a reference a
client can follow (`transfer:<transaction id>`), including rows recorded before migration 0003."""

from __future__ import annotations

import csv
import io
import shutil
import uuid
from pathlib import Path

import asyncpg

from common import accounts
from common.db import migrate
from services.reporting.app import MIGRATIONS
from tests.conftest import NewDatabase
from tests.integration.reporting.reporting_support import FakeLedger, Reporting

ALICE = uuid.uuid4()


async def test_every_row_names_its_transaction_and_a_transfers_rows_name_the_transfer(
    reporting: Reporting, ledger: FakeLedger
) -> None:
    tenant = uuid.uuid4()
    alice = accounts.user_code(ALICE)
    purchase_id = uuid.uuid4()
    bought = await ledger.post(tenant, "purchase", [("world", -500, -500), ("system", 500, 500)],
                               reference=f"purchase:{purchase_id}")
    moved = await ledger.post(tenant, "transfer", [("system", -200, 300), (alice, 200, 200)])
    await reporting.wait_applied(bought.seq, moved.seq)

    entries = await reporting.scoped(tenant, "tenant")

    by_kind = {(e["kind"], e["account_id"]): e for e in entries}
    system_id, alice_id = (str(accounts.account_id(tenant, code)) for code in ("system", alice))
    assert by_kind["purchase", system_id]["transaction_id"] == str(bought.transaction_id)
    assert by_kind["purchase", system_id]["reference"] == f"purchase:{purchase_id}"  # the ledger's own, kept
    for side in (system_id, alice_id):
        assert by_kind["transfer", side]["transaction_id"] == str(moved.transaction_id)
        assert by_kind["transfer", side]["reference"] == f"transfer:{moved.transaction_id}"

    status, _, body = await reporting.download("/logs.csv", tenant, [("scope", "tenant")])
    assert status == 200, body
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    assert rows[0][10] == "Transaction"
    assert sorted((row[8], row[10]) for row in rows[1:]) == sorted(
        [(f"purchase:{purchase_id}", str(bought.transaction_id))]
        + [(f"transfer:{moved.transaction_id}", str(moved.transaction_id))] * 2
    )


async def test_migration_0003_gives_transfer_rows_recorded_before_it_their_reference(
    new_database: NewDatabase, tmp_path: Path
) -> None:
    dsn = await new_database("reporting_before_0003")  # empty: migrated here, step by step
    before = tmp_path / "migrations"
    before.mkdir()
    for path in sorted(MIGRATIONS.glob("*.sql")):
        if path.name < "0003":
            shutil.copy(path, before / path.name)
    await migrate(dsn, before)
    tenant, transfer, purchase = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    conn = await asyncpg.connect(dsn)
    try:
        await conn.executemany(
            """INSERT INTO log_entries (id, tenant_id, account_id, account_code, ledger_seq, transaction_id,
                                        occurred_at, direction, quantity, kind, balance_after, reference)
               VALUES ($1, $2, $1, 'system', $3, $4, now(), 'out', 5, $5, 0, $6)""",
            [(uuid.uuid4(), tenant, 1, transfer, "transfer", None),
             (uuid.uuid4(), tenant, 2, purchase, "purchase", f"purchase:{purchase}")],
        )

        applied = await migrate(dsn, MIGRATIONS)

        rows = await conn.fetch("SELECT transaction_id, reference FROM log_entries ORDER BY ledger_seq")
    finally:
        await conn.close()
    assert "service/0003_transfer_references.sql" in applied
    assert [(r["transaction_id"], r["reference"]) for r in rows] == [
        (transfer, f"transfer:{transfer}"), (purchase, f"purchase:{purchase}")
    ]
