"""The PDF report drawn row by row: any text people typed draws (or is cut to its column), every page
repeats the column headings and says "n / N", and the times are the tenant's."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta

import pypdf

from common import accounts
from services.reporting.directory.domain import Directory
from services.reporting.entries.domain import LogEntry
from services.reporting.logs import domain, report, report_pdf

TENANT, ALICE = uuid.uuid4(), uuid.uuid4()
NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
HOSTILE = ["<script>alert(1)</script>", "emoji 🎉 and RTL שלום", "nul\x00 and\nnew line", "(unbalanced \\ paren",
           "a note far too long for its column " * 5]


def _entry(n: int, note: str | None) -> LogEntry:
    return LogEntry(
        id=uuid.uuid4(), tenant_id=TENANT, account_id=uuid.uuid4(), account_code=accounts.user_code(ALICE),
        ledger_seq=n, transaction_id=uuid.uuid4(), occurred_at=NOW - timedelta(minutes=1000 - n), direction="in",
        quantity=n, kind="transfer", balance_after=n * 3, counterparty_code="system", actor_user_id=ALICE,
        reference=f"REF-{n:04d}", note=note, reservation=n % 5 == 0,
    )


def _report() -> report.Report:
    selected = domain.selection(tenant_id=TENANT, scope="tenant", account_ids=[], days=30, kind=None,
                                direction=None, now=NOW)
    return report.Report(
        directory=Directory(TENANT, "Harbour & Co", "Australia/Sydney", {accounts.user_code(ALICE): "Alice Nguyen"}),
        selection=selected, generated_at=NOW, generated_by="Alice",
        totals=[report.AccountTotals(accounts.user_code(ALICE), 1, 2000, 0, 2001)], stale=False,
    )


def test_rows_in_chunks_make_numbered_pages_with_headings_and_hostile_text_drawn() -> None:
    out = io.BytesIO()
    pdf = report_pdf.PdfReport(_report(), out)
    for start in range(0, 200, 50):
        pdf.add([_entry(n, HOSTILE[n % len(HOSTILE)]) for n in range(start + 1, start + 51)])
    pdf.finish()

    pages = [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(out.getvalue())).pages]
    assert len(pages) > 3
    assert "Harbour & Co" in pages[0] and "2,001" in pages[0] and "<script>alert(1)</script>" in pages[0]
    text = " ".join(pages)
    assert all(f"REF-{n:04d}" in text for n in range(1, 201))
    for number, page in enumerate(pages, start=1):
        assert "Date/time" in page and "Balance after" in page  # the headings repeat
        assert " ".join(f"{number} / {len(pages)}".split()) in " ".join(page.split())
    assert "2026-11-25 21:21:00 +11:00" in pages[0]  # Sydney's summer time, not UTC
    assert "a note far too long for its column " * 5 not in text and "…" in text  # cut to its column


def test_a_report_with_no_rows_says_so() -> None:
    out = io.BytesIO()
    pdf = report_pdf.PdfReport(_report(), out)
    pdf.finish()

    pages = pypdf.PdfReader(io.BytesIO(out.getvalue())).pages
    assert len(pages) == 1 and "No movements in this period." in pages[0].extract_text()
