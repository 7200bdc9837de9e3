"""The keyset cursor every history list hands out: it reads back as the place a page ended, and nothing
else is taken for one."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from common.keyset import FIRST_PAGE, Cursor, InvalidCursor, decode_cursor, encode_cursor, next_cursor


def test_a_cursor_reads_back_as_where_the_page_ended_in_utc() -> None:
    ended = Cursor(datetime(2026, 12, 7, 18, 30, tzinfo=timezone(timedelta(hours=11))), uuid.uuid4())
    back = decode_cursor(encode_cursor(ended))
    assert back == Cursor(ended.created_at.astimezone(UTC), ended.id) and back.created_at.tzinfo == UTC


def test_no_cursor_is_the_first_page() -> None:
    assert decode_cursor(None) == FIRST_PAGE


@pytest.mark.parametrize("text", ["", "nope", "x" * 201, encode_cursor(FIRST_PAGE)[:-3] + "!!!",
                                  "MjAyNi0xMi0wN1QxODozMDowMHx4"])  # a time without zone and a bad id
def test_anything_but_a_cursor_handed_out_is_refused(text: str) -> None:
    with pytest.raises(InvalidCursor):
        decode_cursor(text)


def test_a_next_page_exists_only_when_one_more_row_was_found() -> None:
    last = Cursor(datetime(2026, 12, 7, tzinfo=UTC), uuid.uuid4())
    assert next_cursor(rows=51, limit=50, last=last) == encode_cursor(last)
    assert next_cursor(rows=50, limit=50, last=last) is None
    assert next_cursor(rows=0, limit=50, last=None) is None
