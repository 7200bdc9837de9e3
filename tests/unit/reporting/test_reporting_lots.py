"""Credits by lot in the log: how much of each row was promotional, the grant and lot_expiry kinds, and how
the CSV, the report's totals and the usage figures show them. Pure, no I/O."""

from __future__ import annotations

import csv
import io
import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta

from common import accounts
from common.contracts.events import HoldChange, LotChange, Posting, TransactionPosted
from services.reporting.directory.domain import Directory
from services.reporting.entries import domain as entries_domain
from services.reporting.logs import csv_export, domain, labels, report
from services.reporting.usage.chart import usage_svg
from services.reporting.usage.domain import Bucket, DailyUsage, daily_usage, period

TENANT, ALICE, OPERATOR = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
ALICE_CODE = accounts.user_code(ALICE)
WHEN = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
LAPSED = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
SVG = "{http://www.w3.org/2000/svg}"


def posting(code: str, amount: int, balance_after: int) -> Posting:
    return Posting(account_id=accounts.account_id(TENANT, code), account_code=code, amount=amount,
                   balance_after=balance_after)


def lot(code: str, amount: int, *, paid: bool, reserved: int = 0, expires_at: datetime | None = None,
        lot_id: uuid.UUID | None = None) -> LotChange:
    return LotChange(lot_id=lot_id or uuid.uuid4(), account_id=accounts.account_id(TENANT, code), account_code=code,
                     amount=amount, reserved_delta=reserved, origin="purchase" if paid else "grant", paid=paid,
                     expires_at=expires_at)


def posted(
    kind: str, postings: list[Posting], lots: list[LotChange] | None = None, **extra: object
) -> TransactionPosted:
    return TransactionPosted(transaction_id=uuid.uuid4(), seq=7, tenant_id=TENANT, kind=kind, occurred_at=WHEN,
                             postings=postings, lots=lots or [], **extra)  # type: ignore[arg-type]


def test_a_grant_is_a_promotional_row_in_from_promotional_credits_with_the_operators_reason() -> None:
    grant = posted("grant", [posting("promotions", -50, -50), posting("system", 50, 150)],
                   [lot("system", 50, paid=False, expires_at=LAPSED + timedelta(days=90))],
                   actor_user_id=OPERATOR, note="Welcome bonus", reference=f"grant:{uuid.uuid4()}")

    [entry] = entries_domain.log_entries_of(grant)

    assert (entry.kind, entry.direction, entry.quantity, entry.promotional) == ("grant", "in", 50, 50)
    assert (entry.account_code, entry.counterparty_code, entry.note) == ("system", "promotions", "Welcome bonus")
    assert entry.lot_expires_at is None  # only a lapse keeps its lot's expiry


def test_promotional_counts_only_unpaid_lots_of_the_rows_own_account() -> None:
    # Alice gives Bob 30: 20 of them promotional, 10 paid; the other side's lot changes are Bob's.
    bob = accounts.user_code(uuid.uuid4())
    transfer = posted("transfer", [posting(ALICE_CODE, -30, 70), posting(bob, 30, 30)], [
        lot(ALICE_CODE, -20, paid=False), lot(ALICE_CODE, -10, paid=True),
        lot(bob, 20, paid=False), lot(bob, 10, paid=True),
    ])

    by_account = {e.account_code: e for e in entries_domain.log_entries_of(transfer)}

    assert (by_account[ALICE_CODE].promotional, by_account[bob].promotional) == (20, 20)


def test_a_lot_expiry_is_a_row_out_to_expired_that_keeps_when_its_lot_lapsed() -> None:
    lapse = posted("lot_expiry", [posting(ALICE_CODE, -12, 8), posting("expired", 12, 12)],
                   [lot(ALICE_CODE, -12, paid=False, expires_at=LAPSED)], reference=f"lot:{uuid.uuid4()}")

    [entry] = entries_domain.log_entries_of(lapse)

    assert (entry.kind, entry.direction, entry.quantity, entry.promotional) == ("lot_expiry", "out", 12, 12)
    assert (entry.counterparty_code, entry.lot_expires_at) == ("expired", LAPSED)


def test_an_event_from_before_lots_has_no_promotional_credits() -> None:
    old = posted("purchase", [posting("world", -500, -500), posting("system", 500, 500)])

    [entry] = entries_domain.log_entries_of(old)

    assert (entry.promotional, entry.lot_expires_at) == (0, None)


def test_a_reservation_row_counts_the_promotional_credits_it_reserved() -> None:
    hold = posted("hold", [], [lot(ALICE_CODE, 0, paid=False, reserved=3), lot(ALICE_CODE, 0, paid=True, reserved=2)],
                  holds=[HoldChange(hold_id=uuid.uuid4(), account_id=accounts.account_id(TENANT, ALICE_CODE),
                                    account_code=ALICE_CODE, held_delta=5, held_after=5, balance_after=20)])

    [entry] = entries_domain.log_entries_of(hold)

    assert (entry.reservation, entry.quantity, entry.promotional) == (True, 5, 3)


def test_a_row_never_claims_more_promotional_credits_than_it_moved() -> None:
    # A lot moved out and back within one transaction: the sum of its changes exceeds the row's quantity.
    same = uuid.uuid4()
    odd = posted("transfer", [posting("system", -4, 96), posting(ALICE_CODE, 4, 4)], [
        lot(ALICE_CODE, 4, paid=False, lot_id=same), lot(ALICE_CODE, -4, paid=False, lot_id=same),
        lot(ALICE_CODE, 4, paid=False, lot_id=same),
    ])

    alice = next(e for e in entries_domain.log_entries_of(odd) if e.account_code == ALICE_CODE)

    assert alice.promotional == 4


def test_the_new_kinds_have_labels_and_an_unknown_kind_stays_readable() -> None:
    assert labels.kind_label("grant") == "Promotional grant"
    assert labels.kind_label("lot_expiry") == "Credits expired"
    assert labels.kind_label("expiry") == "Expiry"  # a lapsed hold, unchanged
    assert labels.kind_label("bonus_clawback") == "Bonus clawback"


DIRECTORY = Directory(TENANT, "Harbour Realty", "UTC", {ALICE_CODE: "Alice Nguyen"})


def test_the_csv_ends_with_a_promotional_column_after_the_columns_importers_already_read() -> None:
    grant = posted("grant", [posting("promotions", -50, -50), posting(ALICE_CODE, 50, 50)],
                   [lot(ALICE_CODE, 50, paid=False)], actor_user_id=OPERATOR, note="=Welcome bonus")
    [entry] = entries_domain.log_entries_of(grant)

    data = csv_export.encode_header() + csv_export.encode_rows([entry], DIRECTORY)

    header, row = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert header[:11] == ["Date/time", "Account", "Direction", "Quantity", "Kind", "Balance after",
                           "Counterparty", "By", "Reference", "Note", "Transaction"]
    assert header[11:] == ["Promotional"]
    assert (row[4], row[6], row[11]) == ("Promotional grant", "Promotional credits", "50")
    assert row[9] == "'=Welcome bonus"  # still neutralised


def test_report_totals_split_credits_in_and_show_expired_apart_and_still_add_up() -> None:
    totals = report.account_totals({
        "account_code": "system", "balance_before": 100, "first_opening": None, "credits_in": 80,
        "credits_out": 30, "promotional_in": 20, "credits_expired": 12, "closing": 150,
    })

    assert totals is not None and totals.balanced
    assert (totals.purchased_in, totals.promotional_in, totals.out_not_expired, totals.expired) == (60, 20, 18, 12)
    row = report.header(_report([totals]))["totals"][0]
    assert (row["purchased_in"], row["promotional_in"], row["credits_out"], row["expired"]) == ("60", "20", "18", "12")


def test_a_lapsed_lots_row_in_the_report_says_when_it_expired() -> None:
    lapse = posted("lot_expiry", [posting(ALICE_CODE, -12, 8), posting("expired", 12, 12)],
                   [lot(ALICE_CODE, -12, paid=False, expires_at=LAPSED)])
    [entry] = entries_domain.log_entries_of(lapse)

    row = report.entry_row(entry, DIRECTORY)

    assert (row["kind"], row["counterparty"], row["note"]) == ("Credits expired", "Expired", "Lot expired 2026-11-20")


def test_the_report_page_shows_the_split_totals() -> None:
    html = report.render_html(_report([report.AccountTotals(ALICE_CODE, 0, 80, 30, 50, promotional_in=20, expired=12)]))

    assert "Purchased in" in html and "Promotional in" in html and "Credits expired" in html
    assert '<td class="num">60</td>' in html and '<td class="num">18</td>' in html


def _report(totals: list[report.AccountTotals]) -> report.Report:
    selected = domain.selection(tenant_id=TENANT, scope="tenant", account_ids=[], days=30, kind=None,
                                direction=None, now=WHEN)
    return report.Report(directory=DIRECTORY, selection=selected, generated_at=WHEN, generated_by="Alice",
                         totals=totals, stale=False)


def test_usage_splits_credits_in_into_purchased_and_promotional_and_counts_expired() -> None:
    wanted = period(datetime(2026, 12, 7, 12, 0, tzinfo=UTC), UTC, 2)
    buckets = [
        Bucket(datetime(2026, 12, 6, 1, 0, tzinfo=UTC), 100, 0, promotional_in=40),
        Bucket(datetime(2026, 12, 6, 9, 15, tzinfo=UTC), 10, 5, promotional_in=10, expired=5),
        Bucket(datetime(2026, 12, 7, 3, 0, tzinfo=UTC), 7, 2),
    ]

    days = daily_usage(buckets, UTC, wanted)

    assert days == [DailyUsage(date(2026, 12, 6), 110, 5, 50, 5), DailyUsage(date(2026, 12, 7), 7, 2, 0, 0)]
    assert (days[0].purchased_in, days[0].out_not_expired) == (60, 0)


def test_the_chart_stacks_promotional_credits_on_purchased_ones_with_a_legend_and_words() -> None:
    first = date(2026, 11, 8)
    days = [DailyUsage(first + timedelta(days=n), 0, 0) for n in range(29)]
    days.append(DailyUsage(first + timedelta(days=29), 100, 40, promotional_in=25, expired=10))

    root = ET.fromstring(usage_svg(days, element_id="c"))  # noqa: S314 (our own builder's output)

    legend = [t.text for t in root.findall(f".//{SVG}g[@class='usage-legend']/{SVG}text")]
    assert legend == ["Purchased", "Promotional", "Credits out", "Expired"]
    today = root.findall(f".//{SVG}g[@class='usage-day']")[-1]
    assert (today.get("data-in"), today.get("data-promotional"), today.get("data-expired")) == ("100", "25", "10")
    bars = {r.get("class"): r for r in today.findall(f"{SVG}rect")}
    height = {name: float(r.get("height") or 0) for name, r in bars.items()}
    assert height["usage-promotional"] == round(height["usage-in"] / 3, 1)  # 25 on top of 75
    # The promotional piece sits on top of the purchased one.
    assert float(bars["usage-promotional"].get("y") or 0) + height["usage-promotional"] == float(
        bars["usage-in"].get("y") or 0)
    assert root.findtext(f"{SVG}desc") == (
        "From 2026-11-08 to 2026-12-07: 100 credits in (75 purchased, 25 promotional) and 40 credits out "
        "(10 of them expired)."
    )
