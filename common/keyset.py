"""Keyset pages of things listed newest first: the cursor a page hands out (where it ended: a time and an
id) and the rules for reading one back. Pure, and shared by every service that lists history."""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from common.contracts import problems
from common.problems import MalformedRequest

# Without a cursor or a time filter a page starts at the end of time and goes back to its beginning: the
# bounds are always values, so Postgres always gets the keyset condition as an index bound.
END_OF_TIME = datetime.max.replace(tzinfo=UTC)
BEGINNING_OF_TIME = datetime(1970, 1, 1, tzinfo=UTC)
_LAST_ID = uuid.UUID(int=(1 << 128) - 1)
_MAX_CURSOR_LENGTH = 200


class InvalidCursor(MalformedRequest):
    problem = problems.INVALID_CURSOR


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: the next page holds only things strictly older than this one."""

    created_at: datetime
    id: uuid.UUID


FIRST_PAGE = Cursor(END_OF_TIME, _LAST_ID)


def encode_cursor(cursor: Cursor) -> str:
    raw = f"{cursor.created_at.astimezone(UTC).isoformat()}|{cursor.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(text: str | None) -> Cursor:
    """The cursor a previous page handed out (none: the first page); anything else is refused."""
    if text is None:
        return FIRST_PAGE
    try:
        if not text or len(text) > _MAX_CURSOR_LENGTH:
            raise ValueError(text)
        moment, _, ident = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode().partition("|")
        created_at, thing_id = datetime.fromisoformat(moment), uuid.UUID(ident)
        if created_at.tzinfo is None:
            raise ValueError(moment)
    except (ValueError, binascii.Error) as exc:
        raise InvalidCursor("The cursor is not one this service handed out.",
                            errors=[{"field": "cursor", "message": "not a cursor from a previous page"}]) from exc
    return Cursor(created_at.astimezone(UTC), thing_id)


def next_cursor(rows: int, limit: int, last: Cursor | None) -> str | None:
    """A page is read with one row more than it shows: that row only says more exist."""
    return encode_cursor(last) if rows > limit and last is not None else None
