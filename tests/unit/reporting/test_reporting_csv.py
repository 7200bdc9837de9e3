"""The CSV's pure parts: the formula neutraliser, the cells of a row, the encoding."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common import accounts
from services.reporting.directory.domain import Directory
from services.reporting.entries.domain import LogEntry
from services.reporting.logs import csv_export
from services.reporting.logs.csv_export import neutralise

TENANT = uuid.uuid4()
ALICE, BOB = uuid.uuid4(), uuid.uuid4()


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ('=HYPERLINK("http://evil.example","click")', '\'=HYPERLINK("http://evil.example","click")'),
        ("=1+1", "'=1+1"),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("+61 412 345 678", "'+61 412 345 678"),  # not one plain number: spaces
        ("-5 credits back", "'-5 credits back"),
        ("+1e9", "'+1e9"),
        ("-", "'-"),
        ("+", "'+"),
    ],
)
def test_a_cell_a_spreadsheet_would_evaluate_gets_a_quote_in_front(cell: str, safe: str) -> None:
    assert neutralise(cell) == safe


@pytest.mark.parametrize(
    "cell",
    ["+61412345678", "-5", "-12.50", "+0", "42", "", "Alice O'Hara", "note with = inside", " =leading space",
     "'quoted"],
)
def test_plain_numbers_and_ordinary_text_stay_as_they_are(cell: str) -> None:
    assert neutralise(cell) == cell


def entry(**overrides: object) -> LogEntry:
    fields: dict[str, object] = {
        "id": uuid.uuid4(),
        "tenant_id": TENANT,
        "account_id": accounts.account_id(TENANT, accounts.user_code(ALICE)),
        "account_code": accounts.user_code(ALICE),
        "ledger_seq": 1,
        "transaction_id": uuid.uuid4(),
        "occurred_at": datetime(2026, 11, 26, 3, 5, 9, 123456, tzinfo=UTC),
        "direction": "in",
        "quantity": 30,
        "kind": "transfer",
        "balance_after": 130,
        "counterparty_code": "system",
        "actor_user_id": BOB,
        "reference": "TR-1",
        "note": "for the open home",
    }
    fields.update(overrides)
    return LogEntry(**fields)  # type: ignore[arg-type]


DIRECTORY = Directory(
    TENANT,
    "Harbour Realty",
    "Australia/Sydney",
    {accounts.user_code(ALICE): "Alice Nguyen", accounts.user_code(BOB): "Bob Smith"},
)


def test_a_row_has_names_local_time_with_offset_and_words() -> None:
    transaction = uuid.uuid4()
    assert csv_export.cells_of(entry(transaction_id=transaction), DIRECTORY) == [
        "2026-11-26 14:05:09 +11:00",
        "Alice Nguyen",
        "In",
        "30",
        "Transfer",
        "130",
        "System Credits",
        "Bob Smith",
        "TR-1",
        "for the open home",
        str(transaction),
        "0",  # no promotional credits
    ]


def test_a_name_or_note_typed_as_a_formula_is_neutralised_in_its_cell() -> None:
    directory = Directory(TENANT, "T", "UTC", {accounts.user_code(ALICE): "=cmd|'/C calc'!A0"})

    cells = csv_export.cells_of(entry(note="@SUM(1)", actor_user_id=None, counterparty_code=None), directory)

    assert cells[1] == "'=cmd|'/C calc'!A0"
    assert cells[9] == "'@SUM(1)"
    assert (cells[6], cells[7]) == ("", "")


def test_people_the_replica_does_not_know_are_former_users_never_ids() -> None:
    cells = csv_export.cells_of(entry(), Directory(TENANT))

    assert (cells[1], cells[7]) == ("Former user", "Former user")
    assert cells[0] == "2026-11-26 03:05:09 +00:00"  # no tenant facts yet: UTC, said so by the offset


def test_the_file_starts_with_a_bom_and_a_header_and_quotes_as_rfc_4180() -> None:
    awkward = 'line one\nline "two", with a comma'
    data = csv_export.encode_header() + csv_export.encode_rows([entry(note=awkward)], DIRECTORY)

    assert data.startswith(b"\xef\xbb\xbfDate/time,Account,")
    # The note is followed by the transaction id and the promotional credits, then the line's end.
    assert re.search(rb'"line one\nline ""two"", with a comma",[0-9a-f-]{36},0\r\n', data)
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows[0] == list(csv_export.HEADER)
    assert rows[1][9] == awkward


def test_the_file_is_named_after_the_tenants_local_date() -> None:
    late_evening_utc = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)  # already the 26th in Sydney

    assert csv_export.filename(late_evening_utc, DIRECTORY) == "sms-credits-log-2026-11-26.csv"
    assert csv_export.filename(late_evening_utc, Directory(TENANT)) == "sms-credits-log-2026-11-25.csv"


def test_an_unknown_time_zone_falls_back_to_utc() -> None:
    cells = csv_export.cells_of(entry(), Directory(TENANT, "T", "Mars/Olympus_Mons"))

    assert cells[0] == "2026-11-26 03:05:09 +00:00"


@settings(max_examples=300, deadline=None)
@given(
    reference=st.one_of(st.none(), st.text()),
    note=st.one_of(st.none(), st.text(alphabet=st.sampled_from('ab ,"\r\n=+-@\t\'1.é'))),
    name=st.text(min_size=1),
)
def test_a_row_encodes_as_the_csv_module_would_write_its_neutralised_cells(
    reference: str | None, note: str | None, name: str
) -> None:
    directory = Directory(TENANT, "T", "Australia/Sydney", {accounts.user_code(ALICE): name})
    row = entry(reference=reference, note=note)

    expected = io.StringIO()
    cells = [
        "2026-11-26 14:05:09 +11:00", neutralise(name), "In", "30", "Transfer", "130", "System Credits",
        "Former user", neutralise(reference or ""), neutralise(note or ""), str(row.transaction_id), "0",
    ]
    csv.writer(expected, lineterminator="\r\n").writerow(cells)

    assert csv_export.encode_rows([row], directory).decode("utf-8") == expected.getvalue()


def test_names_are_neutralised_and_quoted_once_per_export_and_stay_right_on_every_row() -> None:
    directory = Directory(TENANT, "T", "UTC", {accounts.user_code(ALICE): '=Alice, "the" boss'})
    rows = [entry(note=f"note {n}") for n in range(3)]

    data = csv_export.encode_rows(rows, directory)

    parsed = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    assert [r[1] for r in parsed] == ["'=Alice, \"the\" boss"] * 3
    assert [r[9] for r in parsed] == ["note 0", "note 1", "note 2"]
