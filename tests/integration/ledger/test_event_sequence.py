"""Each tenant's ledger events are numbered 1, 2, 3, ... without a gap, in the order the tenant's
transactions committed, and the event log answers them again in that order (what a subscriber that
missed some reads)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from common.accounts import user_code
from common.contracts import events
from tests.integration.ledger.conftest import LedgerHarness

TRANSFERS = 40


async def _log(ledger: LedgerHarness, tenant: uuid.UUID) -> list[dict[str, Any]]:
    rows = await ledger.pool.fetch("SELECT envelope FROM event_log WHERE tenant_id = $1 ORDER BY sequence", tenant)
    return [r["envelope"] for r in rows]


async def _outbox_sequences(ledger: LedgerHarness, tenant: uuid.UUID) -> dict[str, str]:
    rows = await ledger.pool.fetch(
        "SELECT envelope FROM outbox WHERE envelope->'data'->>'tenant_id' = $1", str(tenant)
    )
    return {r["envelope"]["id"]: r["envelope"].get("sequence") for r in rows}


async def test_concurrent_postings_of_two_tenants_number_each_tenants_events_without_gaps(ledger: LedgerHarness):
    tenants = [await ledger.add_tenant(threshold=5) for _ in range(2)]
    people = {t: [await ledger.add_user(t, "master"), *[await ledger.add_user(t) for _ in range(3)]]
              for t in tenants}
    for tenant in tenants:
        await ledger.fund(tenant, "system", TRANSFERS + 3)

    async def transfer(tenant: uuid.UUID, n: int) -> int:
        master, *users = people[tenant]
        status, _ = await ledger.transfer(ledger.as_user(master), "system", user_code(users[n % 3].user_id), 1)
        return status

    statuses = await asyncio.gather(*(transfer(t, n) for n in range(TRANSFERS) for t in tenants))
    assert statuses == [201] * (2 * TRANSFERS)

    for tenant in tenants:
        log = await _log(ledger, tenant)
        # One purchase credited, 40 transfers, and a low-balance alert once per account (the pool falling
        # below 5, each user's first credits still below it).
        kinds = [e["type"] for e in log]
        assert kinds.count(events.TRANSACTION_POSTED) == 1 + TRANSFERS
        assert kinds.count(events.BALANCE_LOW) == 4
        assert [int(e["sequence"]) for e in log] == list(range(1, len(log) + 1))
        assert all(len(e["sequence"]) == 20 for e in log)
        # What was published is what was logged, number for number.
        assert await _outbox_sequences(ledger, tenant) == {e["id"]: e["sequence"] for e in log}
        # Numbers follow commit order: walking the pool's postings by number, each starts where the last ended.
        balance = 0
        for event in log:
            for posting in event["data"].get("postings", []):
                if posting["account_code"] == "system":
                    assert posting["balance_after"] == balance + posting["amount"], event["sequence"]
                    balance = posting["balance_after"]
        assert balance == 3
        assert all(e["subject"].startswith(f"tenants/{tenant}/") for e in log)
        assert all(e["source"] == "/sms-credits/ledger" for e in log)


async def test_the_event_log_reads_back_in_pages_and_only_the_callers_tenant(ledger: LedgerHarness):
    tenant, other = await ledger.add_tenant(), await ledger.add_tenant()
    master = await ledger.add_user(tenant, "master")
    users = [await ledger.add_user(tenant) for _ in range(2)]
    await ledger.fund(tenant, "system", 100)
    await ledger.fund(other, "system", 100)
    for n in range(11):
        status, _ = await ledger.transfer(ledger.as_user(master), "system", user_code(users[n % 2].user_id), 1)
        assert status == 201

    seen: list[dict[str, Any]] = []
    after: int | None = 0
    while after is not None:
        response = await ledger.client.get("/events", params={"after_sequence": after, "limit": 5},
                                           headers=ledger.token(tenant))
        assert response.status == 200, await response.text()
        page = await response.json()
        assert page["last_sequence"] == 12
        seen += page["events"]
        after = page["next_after_sequence"]
    assert [int(e["sequence"]) for e in seen] == list(range(1, 13))
    assert seen == await _log(ledger, tenant)

    # From the middle, and past the end.
    response = await ledger.client.get("/events", params={"after_sequence": 10}, headers=ledger.token(tenant))
    page = await response.json()
    assert [int(e["sequence"]) for e in page["events"]] == [11, 12] and page["next_after_sequence"] is None
    response = await ledger.client.get("/events", params={"after_sequence": 12}, headers=ledger.token(tenant))
    assert (await response.json())["events"] == []

    # A tenant's caller naming another tenant finds nothing; an internal system names the tenant it reads.
    response = await ledger.client.get("/events", params={"tenant_id": str(other)}, headers=ledger.token(tenant))
    assert response.status == 404
    response = await ledger.client.get("/events", params={"tenant_id": str(other)},
                                       headers=ledger.token(None, "service"))
    assert [e["data"]["kind"] for e in (await response.json())["events"]] == ["purchase"]
    response = await ledger.client.get("/events", params={"after_sequence": -1}, headers=ledger.token(tenant))
    assert response.status == 400
