"""`python -m gateway announce`: every tenant's and person's current facts published again, with the
versions they describe, for a service whose copy of the directory is new (and for billing to give tenants
that existed before document prefixes a prefix from their names)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from common.contracts import events
from common.db import connect
from gateway.seed import PEOPLE, seed
from tests.conftest import NewDatabase

ROOT = Path(__file__).resolve().parents[3]


async def _announced(dsn: str) -> dict[str, list[dict]]:
    conn = await connect(dsn)
    try:
        rows = await conn.fetch("SELECT routing_key, envelope FROM outbox ORDER BY id")
    finally:
        await conn.close()
    found: dict[str, list[dict]] = {}
    for row in rows:
        found.setdefault(row["routing_key"], []).append(row["envelope"]["data"])
    return found


async def test_announce_publishes_every_tenant_and_member_once_with_their_current_versions(
    new_database: NewDatabase,
) -> None:
    dsn = await new_database("gateway")
    await seed(dsn)
    conn = await connect(dsn)
    try:
        await conn.execute("UPDATE tenants SET name = 'Acme Realty Group', version = version + 1 "
                           "WHERE name = 'Acme Realty'")
        versions = {r["id"]: r["version"] for r in await conn.fetch("SELECT id, version FROM tenants")}
        await conn.execute("DELETE FROM outbox")
    finally:
        await conn.close()

    env = {**os.environ, "GATEWAY_DATABASE_URL": dsn, "JWT_SECRET": "j" * 40, "INTERNAL_TOKEN_SECRET": "i" * 40}
    done = subprocess.run([sys.executable, "-m", "gateway", "announce"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    members = [p for p in PEOPLE if p.role in ("master", "user")]
    assert done.returncode == 0, done.stderr
    assert f"announced 2 tenants and {len(members)} people" in done.stdout

    announced = await _announced(dsn)
    tenants = announced[events.routing_key(events.TENANT_CHANGED)]
    assert sorted(t["name"] for t in tenants) == ["Acme Realty Group", "Globex"]  # the current name
    assert {t["tenant_id"]: t["version"] for t in tenants} == {str(k): v for k, v in versions.items()}
    users = announced[events.routing_key(events.USER_CHANGED)]
    assert sorted(u["user_id"] for u in users) == sorted(str(p.id) for p in members)
