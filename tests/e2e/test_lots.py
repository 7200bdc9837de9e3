"""Credits by lot through the gateway, every service running: an operator's promotional grant (spent
first, its own lot, in the log), the lots of an account in spending order with their expiry, and a lot
that lapses expiring by itself, once, in the balance, the log and the CSV."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.e2e.conftest import Client
from tests.support import eventually


async def _globex(sign_in: Any) -> tuple[Client, Client, str, dict[str, Any]]:
    olive, gail = await sign_in("ops@platform.test"), await sign_in("master@globex.test")
    _, me = await gail.get("/api/v1/me")
    _, accounts = await gail.get("/api/v1/accounts")
    [system] = [a for a in accounts if a["kind"] == "system"]
    return olive, gail, me["tenant"]["id"], system


async def _grant(olive: Client, tenant: str, account: str, quantity: int, expires_at: datetime | None,
                 key: str | None = None) -> tuple[int, Any]:
    body = {"account_id": account, "quantity": quantity, "reason": "Welcome offer",
            "expires_at": expires_at.isoformat() if expires_at else None}
    return await olive.post(f"/api/v1/admin/tenants/{tenant}/grants", body,
                            headers={"Idempotency-Key": key or str(uuid.uuid4())})


async def _log_rows(client: Client, account: str) -> list[dict[str, Any]]:
    status, page = await client.get("/api/v1/logs", params={"account": account, "limit": "1000"})
    assert status == 200, page
    return list(page["entries"])


async def test_an_operators_grant_is_a_promotional_lot_spent_first_and_logged(sign_in: Any) -> None:
    olive, gail, tenant, system = await _globex(sign_in)
    key = str(uuid.uuid4())
    expires = datetime.now(UTC) + timedelta(days=20)

    status, grant = await _grant(olive, tenant, system["id"], 25, expires, key)

    assert status == 201, grant
    assert grant["account"]["balance"] == system["balance"] + 25
    assert grant["account"]["expiring_within_30_days"] >= 25
    assert await _grant(olive, tenant, system["id"], 25, expires, key) == (201, grant)  # a retry: the same grant
    refused, problem = await _grant(gail, tenant, system["id"], 25, expires)
    assert refused == 403 and "operators" in problem["detail"], problem  # a master grants nothing

    status, lots = await gail.get(f"/api/v1/accounts/{system['id']}/lots")
    assert status == 200, lots
    [mine] = [lot for lot in lots if lot["reference"] == f"grant:{grant['id']}"]
    assert (mine["origin"], mine["paid"], mine["remaining"]) == ("grant", False, 25)
    # Promotional lots come first in the order of spending (other tests may have granted some too).
    assert [lot["paid"] for lot in lots] == sorted(lot["paid"] for lot in lots)
    assert datetime.fromisoformat(mine["expires_at"]) == expires
    assert sum(lot["remaining"] for lot in lots) == grant["account"]["balance"]

    async def logged() -> bool:
        return any(row["kind"] == "grant" for row in await _log_rows(gail, system["id"]))

    await eventually(logged, timeout=10)
    [row] = [r for r in await _log_rows(gail, system["id"]) if r["kind"] == "grant" and r["note"] == "Welcome offer"
             and r["quantity"] == 25 and r["transaction_id"] == grant["transaction_id"]]
    assert row["direction"] == "in"


async def test_a_lapsing_lot_expires_by_itself_once_and_the_log_and_csv_show_it(sign_in: Any) -> None:
    olive, gail, tenant, system = await _globex(sign_in)
    status, grant = await _grant(olive, tenant, system["id"], 7, datetime.now(UTC) + timedelta(seconds=2))
    assert status == 201, grant
    expected = grant["account"]["balance"] - 7

    async def expired() -> bool:
        _, account = await gail.get(f"/api/v1/accounts/{system['id']}")
        return bool(account["balance"] == expected)

    await eventually(expired, timeout=15)
    _, lots = await gail.get(f"/api/v1/accounts/{system['id']}/lots")
    assert all(lot["reference"] != f"grant:{grant['id']}" for lot in lots)

    async def logged() -> bool:
        return any(r["kind"] == "lot_expiry" for r in await _log_rows(gail, system["id"]))

    await eventually(logged, timeout=10)
    expiries = [r for r in await _log_rows(gail, system["id"]) if r["kind"] == "lot_expiry"
                and r["reference"] == f"lot:{grant['lot_id']}"]
    assert [(r["direction"], r["quantity"]) for r in expiries] == [("out", 7)]  # once
    async with gail.session.get(gail.base + "/api/v1/logs.csv", params={"account": system["id"]},
                                headers=gail._headers()) as response:
        assert response.status == 200
        rows = list(csv.reader(io.StringIO((await response.read()).decode("utf-8-sig"), newline="")))
    assert any(expiries[0]["transaction_id"] in row for row in rows[1:])
