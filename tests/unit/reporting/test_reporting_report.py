"""The report's totals rule, its page and reconciliation's comparison: pure, no I/O."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from common import accounts
from services.reporting.directory.domain import Directory
from services.reporting.logs import domain, report
from services.reporting.maintenance import domain as maintenance

TENANT = uuid.uuid4()
ALICE = uuid.uuid4()


def totals_row(**values: object) -> dict[str, object]:
    row: dict[str, object] = {
        "account_code": "system", "balance_before": None, "first_opening": None,
        "credits_in": 0, "credits_out": 0, "closing": None, "promotional_in": 0, "credits_expired": 0,
    }
    row.update(values)
    return row


def test_the_opening_balance_is_the_balance_before_the_period() -> None:
    totals = report.account_totals(totals_row(balance_before=40, first_opening=99, credits_in=10, credits_out=5,
                                              closing=45))

    assert totals == report.AccountTotals("system", 40, 10, 5, 45)
    assert totals.balanced


def test_without_a_row_before_the_period_the_first_row_gives_the_opening() -> None:
    totals = report.account_totals(totals_row(first_opening=12, credits_in=3, closing=15))

    assert totals is not None and (totals.opening, totals.closing, totals.balanced) == (12, 15, True)


def test_an_account_that_did_not_move_closes_where_it_opened() -> None:
    totals = report.account_totals(totals_row(balance_before=8, closing=8))

    assert totals == report.AccountTotals("system", 8, 0, 0, 8)


def test_an_account_with_no_row_left_is_not_in_the_report() -> None:
    assert report.account_totals(totals_row()) is None


def test_a_log_missing_a_movement_does_not_add_up() -> None:
    totals = report.account_totals(totals_row(balance_before=10, credits_in=5, closing=20))

    assert totals is not None and not totals.balanced


def test_the_page_is_standalone_escaped_and_print_ready() -> None:
    now = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
    selected = domain.selection(tenant_id=TENANT, scope="tenant", account_ids=[], days=30, kind=None,
                                direction=None, now=now)
    names = {accounts.user_code(ALICE): "<script>alert(1)</script>"}
    printable = report.Report(
        directory=Directory(TENANT, "Harbour & Co", "Australia/Sydney", names),
        selection=selected,
        generated_at=now,
        generated_by="Alice",
        totals=[report.AccountTotals(accounts.user_code(ALICE), 1, 2, 0, 3)],
        entries=[],
        stale=False,
    )

    html = report.render_html(printable)

    assert "Harbour &amp; Co" in html and "<script" not in html and "&lt;script&gt;" in html
    assert "@page" in html and "counter(pages)" in html and "@media print" in html and "<thead>" in html
    assert "http" not in html.replace("http-equiv", "")  # nothing to fetch
    assert "2026-11-26 14:00:00 +11:00 by Alice" in html
    assert report.filename(printable, "pdf") == "sms-credits-report-2026-11-26.pdf"
    assert (now - timedelta(days=30)).astimezone(Directory(TENANT, timezone="Australia/Sydney").zone).strftime(
        "%Y-%m-%d %H:%M:%S") in html


def test_the_caller_is_named_or_described() -> None:
    assert report.generated_by(uuid.uuid4(), "master", "Alice") == "Alice"
    assert report.generated_by(None, "operator", None) == "Operator"
    assert report.generated_by(uuid.uuid4(), "user", None) == "Unknown user"


def test_reconciliation_names_every_account_whose_balance_differs() -> None:
    log = {"system": 70, accounts.user_code(ALICE): 30, "user:gone": 5}
    ledger = {"system": 71, accounts.user_code(ALICE): 30}

    found = maintenance.differences(TENANT, log, ledger)

    assert [(d.account_code, d.log_balance, d.ledger_balance) for d in found] == [
        ("system", 70, 71),
        ("user:gone", 5, 0),
    ]
    assert str(found[0]) == f"tenant {TENANT} account system: log 70, ledger 71 (log -1)"
