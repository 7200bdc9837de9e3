"""The log as CSV for spreadsheets: RFC 4180 quoting, UTF-8 with a byte-order mark (without it Excel
reads UTF-8 as the local code page), names instead of ids, tenant-local times, and every cell
neutralised against formula injection. Pure: the route streams what these functions encode."""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, tzinfo
from typing import Any

from services.reporting.directory.domain import Directory
from services.reporting.entries.domain import LogEntry
from services.reporting.logs.labels import direction_label, kind_label, local_date, local_time

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
    # Last, so the columns spreadsheets already read keep their places: each new column goes after these.
    "Transaction",
    "Promotional",  # how many of the row's credits were promotional
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


# What an export reads per row (store.export_rows): the time already written in the tenant's zone
# (`local_time`'s format), account code, direction, quantity, kind, balance after, counterparty code,
# actor's user id, reference, note, transaction id and promotional credits. The numbers and the ids come as
# text: they are only written out.
ExportRow = tuple[str, str, str, str, str, str, str | None, str | None, str | None, str | None, str, str]


class Cells:
    """Turns rows into CSV lines for one export: each name and word is looked up, neutralised and
    quoted once per export (a million rows name a few hundred people), not once per row."""

    def __init__(self, directory: Directory) -> None:
        self._directory = directory
        self._accounts: dict[str, str] = {}
        self._words: dict[str, str] = {}
        self._counterparties: dict[str, dict[str | None, str]] = {}  # by kind, then code
        self._people: dict[str | None, str] = {}

    def line(self, row: Sequence[Any]) -> str:
        """One ExportRow as a line of the CSV, its columns in the order of HEADER."""
        (written_at, account_code, direction, quantity, kind, balance_after, counterparty, actor, reference, note,
         transaction_id, promotional) = row
        # The time, the three numbers and the transaction id are written by Postgres from a timestamp,
        # integers and a uuid: digits, hex, signs, colons and a space, so neutralising or quoting them
        # could never change them.
        fields = [
            written_at,
            self._account(account_code),
            self._word(direction, direction_label),
            quantity,
            self._word(kind, kind_label),
            balance_after,
            self._counterparty(counterparty, kind),
            self._person(actor),
            _field(neutralise(reference)) if reference else "",
            _field(neutralise(note)) if note else "",
            transaction_id,
            promotional,
        ]
        return ",".join(fields) + "\r\n"

    def encode(self, rows: Iterable[Sequence[Any]]) -> bytes:
        return "".join([self.line(row) for row in rows]).encode("utf-8")

    def _account(self, code: str) -> str:
        if (field := self._accounts.get(code)) is None:
            field = self._accounts[code] = _field(neutralise(self._directory.account(code)))
        return field

    def _word(self, value: str, label: Callable[[str], str]) -> str:
        if (field := self._words.get(value)) is None:
            field = self._words[value] = _field(neutralise(label(value)))
        return field

    def _counterparty(self, code: str | None, kind: str) -> str:
        # Two plain lookups instead of one keyed by a (code, kind) tuple built per row.
        if (of_kind := self._counterparties.get(kind)) is None:
            of_kind = self._counterparties[kind] = {}
        if (field := of_kind.get(code)) is None:
            field = of_kind[code] = _field(neutralise(self._directory.counterparty(code, kind)))
        return field

    def _person(self, user_id: str | None) -> str:
        if (field := self._people.get(user_id)) is None:
            person = self._directory.person(uuid.UUID(user_id) if user_id else None)
            field = self._people[user_id] = _field(neutralise(person))
        return field


def _field(cell: str) -> str:
    """A cell as an RFC 4180 field, as the csv module's QUOTE_MINIMAL writes it: quoted, with quotes
    doubled, when it holds a comma, a quote or a line break, so a note spanning lines stays one cell.
    Written out because the csv module was a third of the export's CPU for rows that seldom need it."""
    if '"' in cell or "," in cell or "\n" in cell or "\r" in cell:
        return '"' + cell.replace('"', '""') + '"'
    return cell


def export_row(entry: LogEntry, zone: tzinfo) -> ExportRow:
    """What store.export_rows reads for an entry, made here: the reference the SQL is tested against."""
    return (
        local_time(entry.occurred_at, zone),
        entry.account_code,
        entry.direction,
        str(entry.quantity),
        entry.kind,
        str(entry.balance_after),
        entry.counterparty_code,
        str(entry.actor_user_id) if entry.actor_user_id else None,
        entry.reference,
        entry.note,
        str(entry.transaction_id),
        str(entry.promotional),
    )


def cells_of(entry: LogEntry, directory: Directory) -> list[str]:
    """One log entry's cells as a spreadsheet reads them back from the CSV, in the order of HEADER."""
    return next(csv.reader(io.StringIO(encode_rows([entry], directory).decode("utf-8"), newline="")))


def encode_header() -> bytes:
    return BOM + (",".join(_field(title) for title in HEADER) + "\r\n").encode("utf-8")


def encode_rows(entries: Iterable[LogEntry], directory: Directory) -> bytes:
    return Cells(directory).encode(export_row(entry, directory.zone) for entry in entries)


def filename(now: datetime, directory: Directory) -> str:
    return f"sms-credits-log-{local_date(now, directory.zone)}.csv"
