"""The printable log: per-account totals (pure rules) and the HTML page, streamed while its rows are read
(the PDF is drawn by report_pdf.py from the same rows).

The page is standalone: its CSS is inline and it has no scripts, images or links to fetch, because the
gateway serves it under `Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline';
img-src data:` and a browser's print dialog is all it needs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from services.reporting.directory.domain import Directory
from services.reporting.entries.domain import LogEntry
from services.reporting.logs.domain import Selection
from services.reporting.logs.labels import direction_label, kind_label, local_date, local_time
from services.reporting.usage.chart import usage_svg
from services.reporting.usage.domain import DailyUsage, InAndOut

_LOADER = jinja2.FileSystemLoader(Path(__file__).parents[1] / "templates")
_TEMPLATES = jinja2.Environment(
    loader=_LOADER,
    autoescape=True,  # names and notes are whatever people typed
    undefined=jinja2.StrictUndefined,
)
# The same template rendered piece by piece while its rows arrive from a cursor (stream_html).
_STREAMED = jinja2.Environment(loader=_LOADER, autoescape=True, undefined=jinja2.StrictUndefined, enable_async=True)
# Rendered text is handed to the client in pieces of about this size: Jinja yields a few bytes at a
# time, and a write per cell would cost more than the rendering.
_PIECE_BYTES = 64 * 1024


@dataclass(frozen=True)
class AccountTotals(InAndOut):
    account_code: str
    opening: int
    credits_in: int  # every credit in: purchased and promotional
    credits_out: int  # every credit out: expired ones included
    closing: int
    promotional_in: int = 0  # of credits_in, those of promotional lots
    expired: int = 0  # of credits_out, those whose lot lapsed

    @property
    def balanced(self) -> bool:
        """opening + in - out = closing: false only when the log is missing a row the ledger posted."""
        return self.opening + self.credits_in - self.credits_out == self.closing


# Under the totals, on the page and in the PDF alike.
TOTALS_LEGEND = (
    "Purchased credits were paid for (bought, or moved here from paid credits); promotional credits were "
    "granted. Credits out leave out expired credits, shown apart: opening + purchased + promotional "
    "\u2212 out \u2212 expired = closing."
)


@dataclass(frozen=True)
class Report:
    directory: Directory
    selection: Selection
    generated_at: datetime
    generated_by: str
    totals: list[AccountTotals]
    stale: bool
    # Oldest first, as a statement reads. Empty when the rows are streamed (stream_html, report_pdf).
    entries: list[LogEntry] = field(default_factory=list)
    # Credits in and out per day of the period (the usage chart), oldest first.
    usage: list[DailyUsage] = field(default_factory=list)


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
    return AccountTotals(row["account_code"], opening, row["credits_in"], row["credits_out"], closing,
                         promotional_in=row["promotional_in"], expired=row["credits_expired"])


def generated_by(user_id: object, role: str, name: str | None) -> str:
    if name:
        return name
    return "Operator" if role == "operator" and user_id is None else "Unknown user"


def render_html(report: Report) -> str:
    """The whole page at once, rows from `report.entries`: for small reports and tests."""
    return _TEMPLATES.get_template("report.html").render(_context(report, [entry_row(e, report.directory)
                                                                           for e in report.entries]))


async def stream_html(report: Report, chunks: AsyncIterator[list[LogEntry]]) -> AsyncIterator[bytes]:
    """The page as UTF-8 pieces: the header, totals and chart first, then the rows as `chunks` yields
    them. Memory holds one chunk of rows and one piece of text, whatever the row count."""
    pending: list[str] = []
    size = 0
    async for text in _STREAMED.get_template("report.html").generate_async(_context(report, _rows(report, chunks))):
        pending.append(text)
        size += len(text)
        if size >= _PIECE_BYTES:
            yield "".join(pending).encode("utf-8")
            pending, size = [], 0
    if pending:
        yield "".join(pending).encode("utf-8")


async def _rows(report: Report, chunks: AsyncIterator[list[LogEntry]]) -> AsyncIterator[dict[str, Any]]:
    async for chunk in chunks:
        for entry in chunk:
            yield entry_row(entry, report.directory)


def filename(report: Report, extension: str) -> str:
    return f"sms-credits-report-{local_date(report.generated_at, report.directory.zone)}.{extension}"


def header(report: Report) -> dict[str, Any]:
    """What the page says above its rows, as text: the same for the HTML and the PDF."""
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
        "totals_legend": TOTALS_LEGEND,
        "usage": [
            {"date": d.day.isoformat(), "credits_in": _number(d.credits_in),
             "purchased_in": _number(d.purchased_in), "promotional_in": _number(d.promotional_in),
             "credits_out": _number(d.credits_out), "expired": _number(d.expired)}
            for d in report.usage
        ],
    }


def _context(report: Report, rows: Iterable[dict[str, Any]] | AsyncIterator[dict[str, Any]]) -> dict[str, Any]:
    return {
        **header(report),
        "rows": rows,
        # Built here from numbers only (every text in it escaped by the builder), so safe to embed.
        "usage_chart": Markup(usage_svg(report.usage, element_id="report-usage", inline=True)),  # noqa: S704
    }


def _number(value: int) -> str:
    return f"{value:,}"


def _totals_row(totals: AccountTotals, directory: Directory) -> dict[str, Any]:
    return {
        "account": directory.account(totals.account_code),
        "opening": _number(totals.opening),
        "purchased_in": _number(totals.purchased_in),
        "promotional_in": _number(totals.promotional_in),
        "credits_out": _number(totals.out_not_expired),
        "expired": _number(totals.expired),
        "closing": _number(totals.closing),
        "balanced": totals.balanced,
    }


def entry_row(entry: LogEntry, directory: Directory) -> dict[str, Any]:
    """One movement as the page shows it: names, labels and the tenant's local time."""
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
        "note": _note(entry, directory),
        "reservation": entry.reservation,
    }


def _note(entry: LogEntry, directory: Directory) -> str:
    """The row's note; for credits that lapsed, also the day their lot expired (the ledger sends no note)."""
    if entry.kind != "lot_expiry" or entry.lot_expires_at is None:
        return entry.note or ""
    expired = f"Lot expired {local_date(entry.lot_expires_at, directory.zone)}"
    return f"{expired}: {entry.note}" if entry.note else expired
