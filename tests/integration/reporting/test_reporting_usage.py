"""GET /usage and /usage.svg: credits in and out per day, in the tenant's days, holds left out, from the
real log read model fed through the real broker; and the printed report's chart."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from common import accounts
from tests.integration.reporting.reporting_support import (
    FakeDirectory,
    FakeLedger,
    Reporting,
    auth,
    html_tables,
)

SYDNEY = ZoneInfo("Australia/Sydney")


async def _usage(reporting: Reporting, tenant: uuid.UUID, params: list[tuple[str, str]]) -> dict[str, int | str]:
    response = await reporting.client.get("/usage", params=params, headers=auth(tenant))
    body = await response.json()
    assert response.status == 200, body
    assert response.headers["Cache-Control"] == "no-store"
    return body


async def test_daily_totals_follow_the_tenants_days_and_leave_holds_out(
    reporting: Reporting, ledger: FakeLedger, directory: FakeDirectory
) -> None:
    tenant, other = uuid.uuid4(), uuid.uuid4()
    alice = accounts.user_code(uuid.uuid4())
    await directory.tenant(tenant, "Harbour", "Australia/Sydney", 1)
    await reporting.wait_directory("directory_tenants", tenant, 1)
    # Yesterday and today in Sydney; 23:30 yesterday and 00:30 today, local, either side of midnight.
    today = datetime.now(SYDNEY).date()
    midnight = datetime(today.year, today.month, today.day, tzinfo=SYDNEY).astimezone(UTC)
    late, early = midnight - timedelta(minutes=30), midnight + timedelta(minutes=30)
    posted = [
        await ledger.post(tenant, "purchase", [("world", -100, -100), ("system", 100, 100)], late),
        await ledger.post(tenant, "transfer", [("system", -30, 70), (alice, 30, 30)], early),
        # A sent message: its hold reserves, its capture spends; only the capture is counted.
        await ledger.post(tenant, "hold", [], early + timedelta(minutes=1), reserves=[(alice, 4, 4, 30)]),
        await ledger.post(tenant, "capture", [(alice, -4, 26), ("spent", 4, 4)], early + timedelta(minutes=2),
                          reserves=[(alice, -4, 0, 26)]),
        # A hold that lapsed: reserved and released, nothing spent.
        await ledger.post(tenant, "hold", [], early + timedelta(minutes=3), reserves=[(alice, 2, 2, 26)]),
        await ledger.post(tenant, "expiry", [], early + timedelta(minutes=4), reserves=[(alice, -2, 0, 26)]),
        # Another tenant's movements never show.
        await ledger.post(other, "purchase", [("world", -9, -9), ("system", 9, 9)], early),
    ]
    await reporting.wait_applied(*(p.seq for p in posted))

    everything = await _usage(reporting, tenant, [("scope", "tenant")])

    assert everything["timezone"] == "Australia/Sydney"
    days = everything["days"]
    assert isinstance(days, list) and len(days) == 30
    assert days[-1]["date"] == today.isoformat()
    by_day = {d["date"]: (d["credits_in"], d["credits_out"]) for d in days}
    yesterday = (today - timedelta(days=1)).isoformat()
    assert by_day[yesterday] == (100, 0)  # the purchase, 23:30 local
    assert by_day[today.isoformat()] == (30, 34)  # transfer in 30, out 30; the capture 4; holds nothing
    assert sum(i + o for i, o in by_day.values()) == 164

    alice_only = await _usage(reporting, tenant, [("account", str(accounts.account_id(tenant, alice)))])
    assert {d["date"]: (d["credits_in"], d["credits_out"]) for d in alice_only["days"]}[today.isoformat()] == (30, 4)

    response = await reporting.client.get("/usage.svg", params=[("scope", "tenant")], headers=auth(tenant))
    svg = await response.text()
    assert response.status == 200 and response.content_type == "image/svg+xml"
    assert f'data-date="{today.isoformat()}" data-in="30" data-out="34"' in svg
    assert f'data-date="{yesterday}" data-in="100" data-out="0"' in svg

    report = await reporting.client.get("/logs/report", params=[("scope", "tenant")], headers=auth(tenant))
    html = await report.text()
    assert report.status == 200
    assert 'aria-labelledby="report-usage-title report-usage-desc"' in html
    figures = html_tables(html)["usage-figures"]
    # Date, credits in, of them purchased and promotional, credits out, of them expired.
    assert [today.isoformat(), "30", "30", "0", "34", "0"] in figures
    assert [yesterday, "100", "100", "0", "0", "0"] in figures


async def test_an_empty_period_and_bad_queries(reporting: Reporting) -> None:
    tenant = uuid.uuid4()
    response = await reporting.client.get("/usage.svg", params=[("scope", "users")], headers=auth(tenant))
    assert response.status == 200
    assert "No credits moved in the last 30 days" in await response.text()

    for params, status in [([("scope", "tenant"), ("days", "31")], 422), ([("scope", "accounts")], 400)]:
        response = await reporting.client.get("/usage", params=params, headers=auth(tenant))
        assert response.status == status, await response.text()
        assert response.content_type == "application/problem+json"
    assert (await reporting.client.get("/usage", params=[("scope", "tenant")])).status == 401
