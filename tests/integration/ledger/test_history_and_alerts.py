"""Balance history (`as_of`) and low-balance alerts."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from common.accounts import user_code
from tests.integration.ledger.conftest import LedgerHarness


async def _moment() -> datetime:
    """A moment strictly between two writes (timestamps are microseconds; keep well clear of them)."""
    await asyncio.sleep(0.01)
    moment = datetime.now(UTC)
    await asyncio.sleep(0.01)
    return moment


async def _balance_as_of(ledger: LedgerHarness, tenant: uuid.UUID, code: str, as_of: str) -> int:
    response = await ledger.client.get("/accounts", params=[("code", code), ("as_of", as_of)],
                                       headers=ledger.token(tenant))
    assert response.status == 200, await response.text()
    [account] = await response.json()
    assert account["held"] == 0 and account["available"] == account["balance"]
    return int(account["balance"])


async def test_the_balance_as_of_a_moment_is_the_balance_at_that_moment(ledger: LedgerHarness):
    tenant = await ledger.add_tenant()
    master, ben = await ledger.add_user(tenant, "master"), await ledger.add_user(tenant)
    ben_code = user_code(ben.user_id)
    before_anything = await _moment()
    await ledger.fund(tenant, "system", 1000)
    funded = await _moment()
    assert (await ledger.transfer(ledger.as_user(master), "system", ben_code, 100))[0] == 201
    first = await _moment()
    assert (await ledger.transfer(ledger.as_user(master), "system", ben_code, 250))[0] == 201
    second = await _moment()
    assert (await ledger.transfer(ledger.as_user(master), ben_code, "system", 50))[0] == 201
    expected = [
        (before_anything, 0, 0),
        (funded, 1000, 0),
        (first, 900, 100),
        (second, 650, 350),
        (await _moment(), 700, 300),
    ]
    for moment, system, user in expected:
        for text in (moment.isoformat(), moment.isoformat().replace("+00:00", "Z")):
            assert await _balance_as_of(ledger, tenant, "system", text) == system, text
            assert await _balance_as_of(ledger, tenant, ben_code, text) == user, text


async def test_an_as_of_that_is_not_a_timestamp_is_a_bad_request(ledger: LedgerHarness):
    response = await ledger.client.get("/accounts", params={"code": "system", "as_of": "yesterday"},
                                       headers=ledger.token(uuid.uuid4()))
    assert response.status == 400


async def _low_alerts(ledger: LedgerHarness, tenant: uuid.UUID, code: str) -> list[dict[str, object]]:
    return [e["data"] for e in await ledger.outbox("ledger.balance.low", tenant) if e["data"]["account_code"] == code]


async def test_a_low_balance_alerts_once_per_crossing_below_the_threshold(ledger: LedgerHarness):
    tenant = await ledger.add_tenant(threshold=50)
    master, ben = await ledger.add_user(tenant, "master"), await ledger.add_user(tenant)
    ben_code = user_code(ben.user_id)

    async def send(quantity: int) -> None:
        status, body = await ledger.transfer(ledger.as_user(master), "system", ben_code, quantity)
        assert status == 201, body

    await ledger.fund(tenant, "system", 100)
    assert await _low_alerts(ledger, tenant, "system") == []
    await send(50)  # 50 left: at the threshold, not below it
    assert await _low_alerts(ledger, tenant, "system") == []
    await send(1)  # 49: crossed below
    [alert] = await _low_alerts(ledger, tenant, "system")
    assert (alert["available"], alert["threshold"]) == (49, 50)
    await send(10)  # 39: still below, no second alert
    await ledger.place_hold(tenant, "system", 9)  # 30 available: still below
    assert len(await _low_alerts(ledger, tenant, "system")) == 1
    await ledger.fund(tenant, "system", 100)  # 130 available: back above, re-armed
    assert len(await _low_alerts(ledger, tenant, "system")) == 1
    await send(90)  # 40: crossed below again
    alerts = await _low_alerts(ledger, tenant, "system")
    assert [a["available"] for a in alerts] == [49, 40]
    assert await _low_alerts(ledger, tenant, ben_code) == []  # Ben went from 0 to 151, never below 50


async def test_a_hold_can_cross_the_threshold_too(ledger: LedgerHarness):
    tenant = await ledger.add_tenant(threshold=50)
    await ledger.fund(tenant, "system", 100)
    status, _ = await ledger.place_hold(tenant, "system", 60)
    assert status == 201
    [alert] = await _low_alerts(ledger, tenant, "system")
    assert alert["available"] == 40


async def test_no_alert_without_a_threshold(ledger: LedgerHarness):
    tenant = await ledger.add_tenant(threshold=0)
    master, ben = await ledger.add_user(tenant, "master"), await ledger.add_user(tenant)
    await ledger.fund(tenant, "system", 10)
    await ledger.transfer(ledger.as_user(master), "system", user_code(ben.user_id), 9)
    assert await ledger.outbox("ledger.balance.low") == []
