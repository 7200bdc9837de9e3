"""Balance alerts per account: levels set and read, evaluated in the transaction that changes the balance,
numbered in the tenant's stream with it, on the single path and in group commit alike."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from common.accounts import user_code
from common.contracts import events
from services.ledger.app import create_app
from services.ledger.postings import group_commit
from services.ledger.settings import LedgerSettings
from tests.conftest import StartService
from tests.integration.ledger.conftest import LedgerHarness

LOW, RECOVERED = events.BALANCE_LOW, events.BALANCE_RECOVERED


async def _set(ledger: LedgerHarness, headers: dict[str, str], code: str,
               levels: list[dict[str, Any]]) -> tuple[int, Any]:
    response = await ledger.client.put("/accounts/alerts", params={"code": code}, json={"levels": levels},
                                       headers=headers)
    return response.status, await response.json()


async def _get(ledger: LedgerHarness, tenant: uuid.UUID, code: str) -> list[dict[str, Any]]:
    response = await ledger.client.get("/accounts/alerts", params={"code": code}, headers=ledger.token(tenant))
    assert response.status == 200, await response.text()
    return list(await response.json())


async def _stream(ledger: LedgerHarness, tenant: uuid.UUID) -> list[tuple[int, str, dict[str, Any]]]:
    """The tenant's numbered events: (sequence, type, data)."""
    rows = await ledger.pool.fetch(
        "SELECT sequence, type, envelope FROM event_log WHERE tenant_id = $1 ORDER BY sequence", tenant)
    return [(r["sequence"], r["type"], r["envelope"]["data"]) for r in rows]


Stream = list[tuple[int, str, dict[str, Any]]]


def _alerts(stream: Stream, code: str = "system") -> list[tuple[str, str | None, int, int]]:
    return [("low" if kind == LOW else "recovered", d.get("level"), d["threshold"], d["available"])
            for _, kind, d in stream if kind in (LOW, RECOVERED) and d["account_code"] == code]


def _grouped() -> float:
    return next(s.value for m in group_commit.GROUP_SIZE.collect() for s in m.samples
                if s.name == "ledger_group_commit_size_count")


async def test_levels_are_set_replaced_and_read_with_their_thresholds(ledger: LedgerHarness):
    tenant = await ledger.add_tenant()
    master, ben = await ledger.add_user(tenant, "master"), await ledger.add_user(tenant)
    code = user_code(ben.user_id)
    assert await _get(ledger, tenant, code) == []
    status, body = await _set(ledger, ledger.as_user(master), code, [
        {"name": "Low", "kind": "absolute", "value": 50}, {"name": "Quarter", "kind": "percent", "value": 25}])
    assert status == 200, body
    assert [(a["name"], a["threshold"], a["below"]) for a in body] == [("Low", 50, True), ("Quarter", 0, False)]
    await ledger.fund(tenant, code, 400)
    assert [(a["name"], a["threshold"], a["below"]) for a in await _get(ledger, tenant, code)] == [
        ("Low", 50, False), ("Quarter", 100, False)]
    status, body = await _set(ledger, ledger.as_user(ben), code, [{"name": "Only", "kind": "absolute", "value": 500}])
    assert status == 200 and [(a["name"], a["below"]) for a in await _get(ledger, tenant, code)] == [("Only", True)]
    # Set while already below: no alert for it (the holder sees the balance), only for what happens next.
    assert _alerts(await _stream(ledger, tenant), code) == [("recovered", "Low", 50, 400)]


async def test_invalid_levels_and_callers_who_are_not_people_are_refused(ledger: LedgerHarness):
    tenant = await ledger.add_tenant()
    master = await ledger.add_user(tenant, "master")
    status, body = await _set(ledger, ledger.as_user(master), "system",
                              [{"name": "Low", "kind": "percent", "value": 120}])
    assert status == 422 and body["type"].endswith("alert-invalid")
    status, body = await _set(ledger, ledger.as_user(master), "system",
                              [{"name": f"L{n}", "kind": "absolute", "value": n + 1} for n in range(6)])
    assert status == 400 or (status == 422 and body["type"].endswith("alert-invalid"))
    status, _ = await _set(ledger, ledger.token(tenant, "service"), "system", [])
    assert status == 403
    status, _ = await _set(ledger, ledger.as_user(master), "world", [])
    assert status == 404
    assert await _get(ledger, tenant, "system") == []


async def _two_levels_scenario(ledger: LedgerHarness) -> tuple[uuid.UUID, list[tuple[int, str, dict[str, Any]]]]:
    """Fund 1000, set Warning (30% of the last purchase: 300) and Low (100), spend to 50 in one transfer,
    then back to 650: answers the tenant and its stream."""
    tenant = await ledger.add_tenant()
    master, ben = await ledger.add_user(tenant, "master"), await ledger.add_user(tenant)
    await ledger.fund(tenant, "system", 1000)
    await ledger.fund(tenant, user_code(ben.user_id), 1)  # opened, so its transfers may be grouped
    status, body = await _set(ledger, ledger.as_user(master), "system", [
        {"name": "Low", "kind": "absolute", "value": 100}, {"name": "Warning", "kind": "percent", "value": 30}])
    assert status == 200, body
    for source, target, quantity in (("system", user_code(ben.user_id), 950),
                                     ("system", user_code(ben.user_id), 10),
                                     (user_code(ben.user_id), "system", 610)):
        status, body = await ledger.transfer(ledger.as_user(master), source, target, quantity)
        assert status == 201, body
    return tenant, await _stream(ledger, tenant)


def _check_two_levels(stream: list[tuple[int, str, dict[str, Any]]]) -> None:
    assert _alerts(stream) == [("low", "Warning", 300, 50), ("low", "Low", 100, 50),
                               ("recovered", "Low", 100, 650), ("recovered", "Warning", 300, 650)]
    numbers = [n for n, _, _ in stream]
    assert numbers == list(range(1, len(stream) + 1))
    # Each pair directly follows the transaction that crossed the levels, in that transaction's numbers.
    kinds = [kind.rsplit(".", 2)[-2:] for _, kind, _ in stream]
    posted, low, recovered = ["transaction", "posted"], ["balance", "low"], ["balance", "recovered"]
    assert kinds[-7:] == [posted, low, low, posted, posted, recovered, recovered]
    [crossing] = [d for _, k, d in stream[-7:-6]]
    assert [p["balance_after"] for p in crossing["postings"] if p["account_code"] == "system"] == [50]


async def test_a_transfer_crossing_two_levels_raises_both_in_its_own_numbers_and_recovery_once(
    ledger: LedgerHarness,
):
    before = _grouped()
    tenant, stream = await _two_levels_scenario(ledger)
    assert _grouped() > before, "the transfers went through group commit"
    _check_two_levels(stream)
    low = [d for _, k, d in stream if k == LOW]
    assert {d["alert_id"] for d in low} == {a["id"] for a in await _get(ledger, tenant, "system")}


async def test_the_single_path_raises_the_same_alerts_as_group_commit(start_service: StartService):
    service = await start_service("ledger", create_app, LedgerSettings, group_commit=False)
    single = LedgerHarness(service.client, service.broker, service.dsn)
    before = _grouped()
    _, stream = await _two_levels_scenario(single)
    assert _grouped() == before, "no transfer went through group commit"
    _check_two_levels(stream)


async def test_transfers_grouped_together_cross_each_level_once_where_it_is_crossed(ledger: LedgerHarness):
    tenant = await ledger.add_tenant()
    master, ben = await ledger.add_user(tenant, "master"), await ledger.add_user(tenant)
    ben_code = user_code(ben.user_id)
    await ledger.fund(tenant, "system", 1000)
    await ledger.fund(tenant, ben_code, 1)
    await _set(ledger, ledger.as_user(master), "system", [{"name": "Low", "kind": "absolute", "value": 500},
                                                          {"name": "Critical", "kind": "absolute", "value": 200}])
    await asyncio.gather(*(ledger.transfer(ledger.as_user(master), "system", ben_code, 90) for _ in range(10)))
    stream = await _stream(ledger, tenant)
    assert [(kind, level) for kind, level, _, _ in _alerts(stream)] == [("low", "Low"), ("low", "Critical")]
    for n, (_, kind, data) in enumerate(stream):
        if kind == LOW:  # the transaction just before it left the balance below that level
            previous = next(d for _, k, d in reversed(stream[:n]) if k.endswith("transaction.posted"))
            [after] = [p["balance_after"] for p in previous["postings"] if p["account_code"] == "system"]
            assert after == data["available"] < data["threshold"] <= after + 90
    assert [(a["name"], a["below"]) for a in await _get(ledger, tenant, "system")] == [("Low", True),
                                                                                      ("Critical", True)]


async def test_a_percent_level_follows_the_latest_purchase_even_in_the_purchase_itself(ledger: LedgerHarness):
    tenant = await ledger.add_tenant(threshold=5000)  # the tenant's threshold: not for an account with levels
    master, ben = await ledger.add_user(tenant, "master"), await ledger.add_user(tenant)
    await ledger.fund(tenant, "system", 100)
    await _set(ledger, ledger.as_user(master), "system", [{"name": "Half", "kind": "percent", "value": 50}])
    assert (await _get(ledger, tenant, "system"))[0]["threshold"] == 50
    status, _ = await ledger.transfer(ledger.as_user(master), "system", user_code(ben.user_id), 60)
    assert status == 201
    await ledger.fund(tenant, "system", 1000)  # 1040: above the new half (500) as well as the old
    await ledger.fund(tenant, "system", 40)  # the last purchase is now 40: half of it is 20
    assert (await _get(ledger, tenant, "system"))[0]["threshold"] == 20
    # The first purchase came before the levels: the tenant's threshold alerted; after, only the level did.
    assert _alerts(await _stream(ledger, tenant)) == [("low", None, 5000, 100), ("low", "Half", 50, 40),
                                                      ("recovered", "Half", 500, 1040)]
