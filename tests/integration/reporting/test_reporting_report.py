"""GET /logs/report: totals that add up against what the ledger announced, and the same page as PDF."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta

import pypdf

from common import accounts
from tests.integration.reporting.reporting_support import FakeDirectory, FakeLedger, Reporting, html_tables

TENANT = uuid.uuid4()
ALICE, BOB = uuid.uuid4(), uuid.uuid4()
NAMES = {"system": "System Credits", accounts.user_code(ALICE): "Alice Nguyen", accounts.user_code(BOB): "Bob Smith"}


async def _history(reporting: Reporting, ledger: FakeLedger, directory: FakeDirectory) -> datetime:
    """Ten days of credits; the report below covers the last seven. Answers the period's start."""
    await directory.tenant(TENANT, "Harbour Realty", "Australia/Sydney", version=1)
    await directory.user(TENANT, ALICE, "Alice Nguyen", version=1)
    await directory.user(TENANT, BOB, "Bob Smith", version=1)
    await reporting.wait_directory("directory_users", BOB, 1)
    alice, bob = accounts.user_code(ALICE), accounts.user_code(BOB)
    now = datetime.now(UTC)
    ago = lambda days: now - timedelta(days=days)  # noqa: E731
    posted = [
        await ledger.post(TENANT, "purchase", [("world", -100, -100), ("system", 100, 100)], ago(10)),
        await ledger.post(TENANT, "transfer", [("system", -30, 70), (alice, 30, 30)], ago(9)),
        # The period: from seven days ago.
        await ledger.post(TENANT, "transfer", [(alice, -10, 20), (bob, 10, 10)], ago(5), actor_user_id=ALICE),
        await ledger.post(TENANT, "hold", [], ago(4), reserves=[(alice, 5, 5, 20)]),
        await ledger.post(TENANT, "capture", [(alice, -3, 17), ("spent", 3, 3)], ago(3), reserves=[(alice, -5, 0, 17)]),
        await ledger.post(TENANT, "purchase", [("world", -50, -150), ("system", 50, 120)], ago(2)),
        await ledger.post(TENANT, "hold", [], ago(1), reserves=[("system", 7, 7, 120)]),
        await ledger.post(TENANT, "void", [], ago(0.5), reserves=[("system", -7, 0, 120)]),
    ]
    await reporting.wait_applied(*(p.seq for p in posted))
    return ago(7)


# Per account: opening, purchased in, promotional in, out (expired aside), expired, closing.
Totals = tuple[int, int, int, int, int, int]


def _totals(html: str) -> dict[str, Totals]:
    table = html_tables(html)["totals"]
    assert table[0] == ["Account", "Opening balance", "Purchased in", "Promotional in", "Credits out",
                        "Credits expired", "Closing balance"]
    return {row[0]: tuple(int(cell.replace(",", "")) for cell in row[1:]) for row in table[1:]}  # type: ignore[misc]


async def test_totals_per_account_add_up_and_close_at_the_balance_after_the_last_row(
    reporting: Reporting, ledger: FakeLedger, directory: FakeDirectory
) -> None:
    await _history(reporting, ledger, directory)

    status, headers, body = await reporting.download(
        "/logs/report", TENANT, [("scope", "tenant"), ("days", "7")], user_id=ALICE
    )

    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    totals = _totals(body.decode())
    # Independent of the service: the balances the ledger announced last, and before the period.
    announced = ledger.balances(TENANT)
    assert totals == {
        "System Credits": (70, 50, 0, 0, 0, 120),
        "Alice Nguyen": (30, 0, 0, 13, 0, 17),  # the hold and its release are not movements
        "Bob Smith": (0, 10, 0, 0, 0, 10),  # no row before the period: opened at nothing
    }
    for code, name in NAMES.items():
        opening, purchased, promotional, credits_out, expired, closing = totals[name]
        assert opening + purchased + promotional - credits_out - expired == closing
        assert closing == announced[code]


async def test_the_report_lists_the_periods_rows_oldest_first_with_reservations_marked(
    reporting: Reporting, ledger: FakeLedger, directory: FakeDirectory
) -> None:
    await _history(reporting, ledger, directory)

    _, _, body = await reporting.download("/logs/report", TENANT, [("scope", "tenant"), ("days", "7")],
                                          user_id=ALICE)

    html = body.decode()
    rows = [(r[1], r[2], r[3], r[4], r[5]) for r in html_tables(html)["rows"][1:]]
    # The two sides of one transfer share its instant; their order between themselves is arbitrary.
    assert sorted(rows[:2]) == [
        ("Alice Nguyen", "Out", "10", "Transfer", "20"),
        ("Bob Smith", "In", "10", "Transfer", "10"),
    ]
    assert rows[2:] == [
        ("Alice Nguyen", "Out", "5", "Hold", "20"),
        ("Alice Nguyen", "Out", "3", "Capture", "17"),
        ("System Credits", "In", "50", "Purchase", "120"),
        ("System Credits", "Out", "7", "Hold", "120"),
        ("System Credits", "In", "7", "Void", "120"),
    ]
    assert html.count('<tr class="reservation">') == 3
    assert "Harbour Realty" in html and "by Alice Nguyen" in html
    assert "<script" not in html and "<link" not in html and "src=" not in html


async def test_the_report_renders_to_a_pdf_that_names_the_tenant(
    reporting: Reporting, ledger: FakeLedger, directory: FakeDirectory
) -> None:
    await _history(reporting, ledger, directory)

    status, headers, body = await reporting.download("/logs/report", TENANT, [("scope", "tenant"), ("format", "pdf")])

    assert status == 200, body[:300]
    assert headers["Content-Type"] == "application/pdf"
    assert headers["Content-Disposition"].startswith('inline; filename="sms-credits-report-')
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(body)).pages)
    assert "Harbour Realty" in text and "Alice Nguyen" in text


async def test_a_report_of_named_accounts_totals_only_those(
    reporting: Reporting, ledger: FakeLedger, directory: FakeDirectory
) -> None:
    await _history(reporting, ledger, directory)
    bob = accounts.account_id(TENANT, accounts.user_code(BOB))

    _, _, body = await reporting.download("/logs/report", TENANT, [("account", str(bob)), ("days", "7")])

    assert _totals(body.decode()) == {"Bob Smith": (0, 10, 0, 0, 0, 10)}
    assert "by Unknown user" in body.decode()
