"""Upgrading a ledger that has history: the migration that starts the numbered event log numbers what was
posted before it, per tenant, in the order it was posted, and leaves each tenant's stream where a posting
carries on from."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from common.db import migrate
from services.ledger.app import MIGRATIONS
from tests.conftest import Infra
from tests.integration.ledger.conftest import ledger_database_before

NEW = "0006_event_streams.sql"


def _payload(tenant: uuid.UUID, seq: int) -> str:
    return json.dumps({"transaction_id": str(uuid.uuid4()), "seq": seq, "tenant_id": str(tenant), "kind": "transfer",
                       "occurred_at": datetime.now(UTC).isoformat(), "postings": []})


async def test_history_is_numbered_per_tenant_in_posting_order(infra: Infra, tmp_path: Path):
    async with ledger_database_before(infra, tmp_path, NEW) as dsn:
        await _number_the_history(dsn)


async def _number_the_history(dsn: str) -> None:
    acme, globex = uuid.uuid4(), uuid.uuid4()
    conn = await asyncpg.connect(dsn)
    try:
        # Global numbers interleave the tenants: 1 acme, 2 globex, 3 acme, 4 acme, 5 globex.
        for seq, tenant in enumerate((acme, globex, acme, acme, globex), 1):
            await conn.execute("INSERT INTO journal (seq, tenant_id, payload) VALUES ($1, $2, $3::jsonb)",
                               seq, tenant, _payload(tenant, seq))
        applied = await migrate(dsn, MIGRATIONS)
        assert applied == [f"service/{NEW}"] + [f"service/{p.name}" for p in sorted(MIGRATIONS.glob("*.sql"))
                                                if p.name > NEW]
        rows = await conn.fetch("SELECT tenant_id, sequence, envelope FROM event_log ORDER BY tenant_id, sequence")
        numbered = {(r["tenant_id"], r["sequence"]): json.loads(r["envelope"]) for r in rows}
        assert [(seq, e["data"]["seq"]) for (t, seq), e in numbered.items() if t == acme] == [(1, 1), (2, 3), (3, 4)]
        assert [(seq, e["data"]["seq"]) for (t, seq), e in numbered.items() if t == globex] == [(1, 2), (2, 5)]
        for (tenant, seq), envelope in numbered.items():
            assert envelope["sequence"] == f"{seq:020d}"
            assert envelope["type"] == "com.smscredits.ledger.transaction.posted"
            assert envelope["subject"] == f"tenants/{tenant}/transactions/{envelope['data']['transaction_id']}"
            assert envelope["time"] == envelope["data"]["occurred_at"]
        streams = dict(await conn.fetch("SELECT tenant_id, last_sequence FROM event_streams"))
        assert streams == {acme: 3, globex: 2}
    finally:
        await conn.close()
