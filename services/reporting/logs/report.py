"""The printable log: per-account totals (pure rules) and the HTML page, rendered to PDF on request.

The page is standalone: its CSS is inline and it has no scripts, images or links to fetch, because the
gateway serves it under `Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline';
img-src data:` and a browser's print dialog (or WeasyPrint) is all it needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2

from services.reporting.directory.domain import Directory
from services.reporting.entries.domain import LogEntry
from services.reporting.logs.domain import Selection
from services.reporting.logs.labels import direction_label, kind_label, local_date, local_time

_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parents[1] / "templates"),
    autoescape=True,  # names and notes are whatever people typed
    undefined=jinja2.StrictUndefined,
)


@dataclass(frozen=True)
class AccountTotals:
    account_code: str
    opening: int
    credits_in: int
    credits_out: int
    closing: int

    @property
    def balanced(self) -> bool:
        """opening + in - out = closing: false only when the log is missing a row the ledger posted."""
        return self.opening + self.credits_in - self.credits_out == self.closing


@dataclass(frozen=True)
class Report:
    directory: Directory
    selection: Selection
    generated_at: datetime
    generated_by: str
    totals: list[AccountTotals]
    entries: list[LogEntry]  # oldest first, as a statement reads
    stale: bool


def account_totals(row: Mapping[str, Any]) -> AccountTotals | None:
    """An account's totals for the period from what the log holds; None when it holds no row of it.

    The opening balance is the balance after the account's last row before the period. With no such
    row left (an account older than the retention window that only moved inside the period, or a new
    one) it is the balance before its first row in the period: that row's balance after, less what the
    row moved. Reservation rows move nothing, so they count as neither in nor out.
    """
    opening = row["balance_before"] if row["balance_before"] is not None else row["first_opening"]
    if opening is None:
        return None
    closing = row["closing"] if row["closing"] is not None else opening
    return AccountTotals(row["account_code"], opening, row["credits_in"], row["credits_out"], closing)


def generated_by(user_id: object, role: str, name: str | None) -> str:
    if name:
        return name
    return "Operator" if role == "operator" and user_id is None else "Unknown user"


def render_html(report: Report) -> str:
    return _TEMPLATES.get_template("report.html").render(_context(report))


def render_pdf(html: str) -> bytes:
    """CPU-bound for a second or more: call it in a worker thread."""
    # Imported here, not at the top: WeasyPrint takes a while to import and tens of megabytes, and
    # only this rarely used path needs it (the consumer, the CSV and the CLI commands do not).
    import warnings

    with warnings.catch_warnings():
        # A missing optional system library (HarfBuzz subset) is announced as a deprecation; tests
        # run with warnings as errors and must not fail on it.
        warnings.filterwarnings("ignore", message="HarfBuzz-Subset", category=DeprecationWarning)
        import weasyprint

    pdf: bytes = weasyprint.HTML(string=html).write_pdf()
    return pdf


def filename(report: Report, extension: str) -> str:
    return f"sms-credits-report-{local_date(report.generated_at, report.directory.zone)}.{extension}"


def _context(report: Report) -> dict[str, Any]:
    directory, zone = report.directory, report.directory.zone
    selected = report.selection
    narrowed = [
        f"kind {kind_label(selected.kind)}" if selected.kind else "",
        f"direction {direction_label(selected.direction)}" if selected.direction else "",
    ]
    return {
        "tenant": directory.display_name,
        "timezone": str(zone),  # the zone the times are in (UTC when the tenant's is unknown here)
        "period_from": local_time(selected.since, zone),
        "period_to": local_time(report.generated_at, zone),
        "generated_at": local_time(report.generated_at, zone),
        "generated_by": report.generated_by,
        "narrowed_to": ", ".join(part for part in narrowed if part),
        "stale": report.stale,
        "totals": [_totals_row(t, directory) for t in report.totals],
        "rows": [_entry_row(e, directory) for e in report.entries],
    }


def _number(value: int) -> str:
    return f"{value:,}"


def _totals_row(totals: AccountTotals, directory: Directory) -> dict[str, Any]:
    return {
        "account": directory.account(totals.account_code),
        "opening": _number(totals.opening),
        "credits_in": _number(totals.credits_in),
        "credits_out": _number(totals.credits_out),
        "closing": _number(totals.closing),
        "balanced": totals.balanced,
    }


def _entry_row(entry: LogEntry, directory: Directory) -> dict[str, Any]:
    return {
        "occurred_at": local_time(entry.occurred_at, directory.zone),
        "account": directory.account(entry.account_code),
        "direction": direction_label(entry.direction),
        "quantity": _number(entry.quantity),
        "kind": kind_label(entry.kind),
        "balance_after": _number(entry.balance_after),
        "counterparty": directory.counterparty(entry.counterparty_code, entry.kind),
        "by": directory.person(entry.actor_user_id),
        "reference": entry.reference or "",
        "note": entry.note or "",
        "reservation": entry.reservation,
    }
