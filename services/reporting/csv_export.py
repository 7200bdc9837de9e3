"""The log as CSV for spreadsheets: RFC 4180 quoting, UTF-8 with a byte-order mark (without it Excel
reads UTF-8 as the local code page), names instead of ids, tenant-local times, and every cell
neutralised against formula injection. Pure: the route streams what these functions encode."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from datetime import datetime

from services.reporting.domain import LogEntry
from services.reporting.labels import Directory, direction_label, kind_label, local_date, local_time

BOM = "\ufeff".encode()
HEADER = (
    "Date/time",
    "Account",
    "Direction",
    "Quantity",
    "Kind",
    "Balance after",
    "Counterparty",
    "By",
    "Reference",
    "Note",
)
CONTENT_TYPE = "text/csv; charset=utf-8"

# A spreadsheet treats a cell starting with one of these as a formula (or, for tab and carriage
# return, strips them and reads what follows as one): the OWASP "CSV injection" list.
_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# A cell that is one plain number is left alone even when it starts with a sign: a spreadsheet reads
# it as a constant, and nothing but digits can follow, so no formula (no function call, no reference,
# no DDE link) can hide in it. This keeps a balance of -5 a number and a phone number +61412345678
# readable. Only digits, with at most one decimal point: `+61 412 345 678`, `-1+1`, `+1e9` and
# `-5 credits` do not qualify and are neutralised like any other text.
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")


def neutralise(cell: str) -> str:
    """The cell as a spreadsheet may safely open it.

    A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return gets a single quote in
    front (`=HYPERLINK("x")` becomes `'=HYPERLINK("x")`): spreadsheets then show it as text, quote
    included, instead of evaluating it. The one exception is a cell that is entirely a plain number
    (an optional sign, digits, an optional decimal part), which is returned unchanged. Every other
    cell is returned unchanged too.
    """
    if cell.startswith(_FORMULA_TRIGGERS) and not _PLAIN_NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def cells_of(entry: LogEntry, directory: Directory) -> list[str]:
    """One log entry as the CSV's columns, in the order of HEADER."""
    cells = [
        local_time(entry.occurred_at, directory.zone),
        directory.account(entry.account_code),
        direction_label(entry.direction),
        str(entry.quantity),
        kind_label(entry.kind),
        str(entry.balance_after),
        directory.counterparty(entry.counterparty_code, entry.kind),
        directory.person(entry.actor_user_id),
        entry.reference or "",
        entry.note or "",
    ]
    return [neutralise(cell) for cell in cells]


def encode_header() -> bytes:
    return BOM + _encode([list(HEADER)])


def encode_rows(entries: Iterable[LogEntry], directory: Directory) -> bytes:
    return _encode(cells_of(entry, directory) for entry in entries)


def _encode(rows: Iterable[list[str]]) -> bytes:
    buffer = io.StringIO()
    # QUOTE_MINIMAL with "\r\n" line ends is RFC 4180: a field is quoted when it holds a comma, a
    # quote (doubled) or a line break, so a note spanning lines stays one cell.
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


def filename(now: datetime, directory: Directory) -> str:
    return f"sms-credits-log-{local_date(now, directory.zone)}.csv"
