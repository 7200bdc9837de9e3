"""Credits by lot through the real broker: a promotional grant and a lapsed lot, published as the ledger
publishes them, read back from the log's JSON, its CSV, the report's totals and the usage figures."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta

from common import accounts
from common.contracts.events import LotChange
from tests.integration.reporting.reporting_support import FakeLedger, Reporting, auth, html_tables

TENANT, OPERATOR = uuid.uuid4(), uuid.uuid4()
SYSTEM_ID = accounts.account_id(TENANT, "system")


def lot(lot_id: uuid.UUID, amount: int, *, paid: bool, expires_at: datetime | None) -> LotChange:
    return LotChange(lot_id=lot_id, account_id=SYSTEM_ID, account_code="system", amount=amount,
                     origin="purchase" if paid else "grant", paid=paid, expires_at=expires_at)


async def _grant_then_lapse(ledger: FakeLedger, reporting: Reporting) -> datetime:
    """100 purchased, 40 granted, then 15 of the grant lapse; answers when the grant's lot expired."""
    bought, granted = uuid.uuid4(), uuid.uuid4()
    start = datetime.now(UTC) - timedelta(hours=3)
    lapsed = (start + timedelta(hours=2)).replace(microsecond=0)
    posted = [
        await ledger.post(TENANT, "purchase", [("world", -100, -100), ("system", 100, 100)], start,
                          reference="purchase:1", lots=[lot(bought, 100, paid=True, expires_at=None)]),
        await ledger.post(TENANT, "grant", [("promotions", -40, -40), ("system", 40, 140)], start + timedelta(hours=1),
                          actor_user_id=OPERATOR, note="Welcome to SMS credits", reference=f"grant:{uuid.uuid4()}",
                          lots=[lot(granted, 40, paid=False, expires_at=lapsed)]),
        await ledger.post(TENANT, "lot_expiry", [("system", -15, 125), ("expired", 15, 15)], lapsed,
                          reference=f"lot:{granted}", lots=[lot(granted, -15, paid=False, expires_at=lapsed)]),
    ]
    await reporting.wait_applied(*(p.seq for p in posted))
    return lapsed


async def test_a_grant_and_a_lapsed_lot_read_back_from_the_log_and_the_csv_with_their_promotional_credits(
    reporting: Reporting, ledger: FakeLedger
) -> None:
    lapsed = await _grant_then_lapse(ledger, reporting)

    entries = await reporting.entries(TENANT, [SYSTEM_ID])

    # Newest first.
    assert [(e["kind"], e["direction"], e["quantity"], e["promotional"], e["counterparty"]) for e in entries] == [
        ("lot_expiry", "out", 15, 15, "expired"),
        ("grant", "in", 40, 40, "promotions"),
        ("purchase", "in", 100, 0, "world"),
    ]
    assert entries[1]["note"] == "Welcome to SMS credits" and entries[1]["actor"] == str(OPERATOR)
    assert datetime.fromisoformat(entries[0]["lot_expires_at"]) == lapsed
    assert entries[1]["lot_expires_at"] is None and entries[2]["lot_expires_at"] is None

    status, _, body = await reporting.download("/logs.csv", TENANT, [("scope", "tenant")])
    assert status == 200, body
    header, *rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    assert header[-2:] == ["Transaction", "Promotional"]
    assert [(r[4], r[3], r[6], r[11]) for r in rows] == [
        ("Credits expired", "15", "Expired", "15"),
        ("Promotional grant", "40", "Promotional credits", "40"),
        ("Purchase", "100", "Purchase", "0"),
    ]

    status, filtered = await reporting.logs(TENANT, [SYSTEM_ID], kind="grant")
    assert status == 200 and [e["kind"] for e in filtered["entries"]] == ["grant"]


async def test_the_report_and_the_usage_figures_split_promotional_credits_and_show_expired_ones(
    reporting: Reporting, ledger: FakeLedger
) -> None:
    await _grant_then_lapse(ledger, reporting)

    _, _, body = await reporting.download("/logs/report", TENANT, [("scope", "tenant")])
    html = body.decode()
    totals = html_tables(html)["totals"]
    assert totals[0][2:6] == ["Purchased in", "Promotional in", "Credits out", "Credits expired"]
    # Opening 0 (no row before), 100 purchased, 40 promotional, nothing else out, 15 expired, closing 125.
    assert totals[1] == ["System Credits", "0", "100", "40", "0", "15", "125"]
    assert "Lot expired" in html

    response = await reporting.client.get("/usage", params=[("scope", "tenant")], headers=auth(TENANT))
    usage = await response.json()
    assert response.status == 200
    summed = {key: sum(day[key] for day in usage["days"]) for key in
              ("credits_in", "credits_in_purchased", "credits_in_promotional", "credits_out", "credits_expired")}
    assert summed == {"credits_in": 140, "credits_in_purchased": 100, "credits_in_promotional": 40,
                      "credits_out": 15, "credits_expired": 15}

    response = await reporting.client.get("/usage.svg", params=[("scope", "tenant")], headers=auth(TENANT))
    svg = await response.text()
    assert "Promotional" in svg and "40 promotional" in svg and "15 of them expired" in svg
