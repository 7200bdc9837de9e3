"""Which rows a log request selects, what a page cursor is, and the rules a request must keep. Pure and
synchronous."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from common.contracts import problems
from common.problems import MalformedRequest, RuleBroken
from services.reporting.entries.domain import Direction, LogEntry, as_utc

# Which accounts a request reads: the ones it names, every user-facing account of the caller's tenant
# (a master), or every user account of it, System Credits aside (a user with manage_credits). The
# gateway decides which scope a caller may use; naming the scope keeps hundreds of ids out of a URL.
Scope = Literal["accounts", "tenant", "users"]

MAX_DAYS = 30
MAX_LIMIT = 1000
# A cursor is a timestamp and a uuid; anything much longer is not one of ours.
_MAX_CURSOR_LENGTH = 128
# The first page reads "before the end of time": every request then has the same query shape, so
# Postgres always gets the keyset condition as an index bound, never as an optional filter.
_END_OF_TIME = datetime.max.replace(tzinfo=UTC)
_LAST_ID = uuid.UUID(int=(1 << 128) - 1)


class InvalidCursor(MalformedRequest):
    problem = problems.INVALID_CURSOR


class FilterOutOfRange(RuleBroken):
    problem = problems.FILTER_OUT_OF_RANGE


class AccountsMissing(MalformedRequest):
    problem = problems.ACCOUNTS_MISSING


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: the next page starts strictly after (older than) this entry."""

    occurred_at: datetime
    entry_id: uuid.UUID


FIRST_PAGE = Cursor(_END_OF_TIME, _LAST_ID)


@dataclass(frozen=True)
class Selection:
    """Which rows a request reads: the same for a page, the CSV and the printed report."""

    tenant_id: uuid.UUID
    scope: Scope
    account_ids: tuple[uuid.UUID, ...]  # only for scope "accounts"
    since: datetime
    kind: str | None
    direction: Direction | None

    @property
    def includes_system(self) -> bool:
        return self.scope != "users"


@dataclass(frozen=True)
class LogFilter:
    selection: Selection
    before: Cursor
    limit: int


@dataclass(frozen=True)
class LogPage:
    entries: list[LogEntry]
    next_cursor: str | None
    stale: bool


def encode_cursor(cursor: Cursor) -> str:
    raw = f"{as_utc(cursor.occurred_at).isoformat()}|{cursor.entry_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(text: str) -> Cursor:
    """The cursor a previous page handed out; anything else is refused, never guessed at."""
    if not text or len(text) > _MAX_CURSOR_LENGTH:
        raise InvalidCursor("The cursor is not one this service handed out.")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        moment, _, ident = raw.partition("|")
        occurred_at = datetime.fromisoformat(moment)
        entry = uuid.UUID(ident)
    except (ValueError, binascii.Error) as exc:
        raise InvalidCursor("The cursor is not one this service handed out.") from exc
    if occurred_at.tzinfo is None:
        raise InvalidCursor("The cursor is not one this service handed out.")
    return Cursor(occurred_at.astimezone(UTC), entry)


def selection(
    *,
    tenant_id: uuid.UUID,
    scope: Scope,
    account_ids: Sequence[uuid.UUID],
    days: int,
    kind: str | None,
    direction: Direction | None,
    now: datetime,
) -> Selection:
    _check_range("days", days, 1, MAX_DAYS)
    if scope == "accounts" and not account_ids:
        raise AccountsMissing(
            "Name at least one account, or ask for scope=tenant or scope=users.",
            errors=[{"field": "account", "message": "required when scope is accounts"}],
        )
    if scope != "accounts" and account_ids:
        # Refused rather than ignored: a caller naming accounts and a scope expects one of them to
        # narrow the other, and silently answering the whole tenant would surprise them.
        raise AccountsMissing(
            f"account is only for scope=accounts, not scope={scope}.",
            errors=[{"field": "account", "message": f"not allowed with scope {scope}"}],
        )
    return Selection(
        tenant_id=tenant_id,
        scope=scope,
        # Each account is read once: a repeated one would otherwise return its entries twice.
        account_ids=tuple(dict.fromkeys(account_ids)),
        since=now - timedelta(days=days),
        kind=kind,
        direction=direction,
    )


def log_filter(selected: Selection, *, cursor: str | None, limit: int) -> LogFilter:
    _check_range("limit", limit, 1, MAX_LIMIT)
    return LogFilter(
        selection=selected,
        before=decode_cursor(cursor) if cursor is not None else FIRST_PAGE,
        limit=limit,
    )


def _check_range(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        message = f"{name} must be between {low} and {high}."
        raise FilterOutOfRange(message, errors=[{"field": name, "message": message}])


def page_of(rows: Sequence[LogEntry], limit: int, stale: bool) -> LogPage:
    """A page from up to `limit + 1` rows read newest first: the extra row only says more exist."""
    entries = list(rows[:limit])
    more = len(rows) > limit
    last = entries[-1] if entries else None
    next_cursor = encode_cursor(Cursor(last.occurred_at, last.id)) if more and last else None
    return LogPage(entries=entries, next_cursor=next_cursor, stale=stale)


