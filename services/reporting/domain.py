"""The log's rules, pure and synchronous: which postings become log entries, what a page cursor is,
and which filters a log request may carry."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from common import accounts
from common.events import Posting, TransactionPosted
from common.problems import MalformedRequest, RuleBroken

Direction = Literal["in", "out"]
Kind = Literal["purchase", "transfer", "hold", "capture", "void", "expiry", "mode_change", "refund"]

MAX_DAYS = 30
MAX_LIMIT = 1000
# Any constant works; changing it would give already-recorded postings new ids, so it never changes.
_ENTRY_NAMESPACE = uuid.UUID("0b7f3c52-5a8e-4d0c-9f1e-3a6d2c4b7e91")
# A cursor is a timestamp and a uuid; anything much longer is not one of ours.
_MAX_CURSOR_LENGTH = 128
# The first page reads "before the end of time": every request then has the same query shape, so
# Postgres always gets the keyset condition as an index bound, never as an optional filter.
_END_OF_TIME = datetime.max.replace(tzinfo=UTC)
_LAST_ID = uuid.UUID(int=(1 << 128) - 1)


class InvalidCursor(MalformedRequest):
    slug = "invalid-cursor"


class FilterOutOfRange(RuleBroken):
    slug = "filter-out-of-range"


class UnreadablePosting(Exception):
    """A posting this service cannot place in any log (an account code it does not know)."""


@dataclass(frozen=True)
class LogEntry:
    """One line of an account's log. Field order is the column order of `log_entries`."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    account_id: uuid.UUID
    account_code: str
    ledger_seq: int
    transaction_id: uuid.UUID
    occurred_at: datetime
    direction: Direction
    quantity: int
    kind: str
    balance_after: int
    counterparty_code: str | None
    actor_user_id: uuid.UUID | None
    reference: str | None
    note: str | None


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: the next page starts strictly after (older than) this entry."""

    occurred_at: datetime
    entry_id: uuid.UUID


FIRST_PAGE = Cursor(_END_OF_TIME, _LAST_ID)


@dataclass(frozen=True)
class LogFilter:
    tenant_id: uuid.UUID
    account_ids: tuple[uuid.UUID, ...]
    since: datetime
    kind: str | None
    direction: Direction | None
    before: Cursor
    limit: int


@dataclass(frozen=True)
class LogPage:
    entries: list[LogEntry]
    next_cursor: str | None
    stale: bool


def entry_id(transaction_id: uuid.UUID, account_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(_ENTRY_NAMESPACE, f"{transaction_id}/{account_id}")


def is_user_facing(account_code: str) -> bool:
    try:
        return accounts.kind_of(account_code) in accounts.USER_FACING
    except ValueError as exc:
        raise UnreadablePosting(str(exc)) from exc


def log_entries_of(posted: TransactionPosted) -> list[LogEntry]:
    """The log lines a ledger transaction adds: one per posting on a user-facing account."""
    occurred_at = _as_utc(posted.occurred_at)
    entries = []
    for index, posting in enumerate(posted.postings):
        if is_user_facing(posting.account_code):
            counterparty = _counterparty_code(posted.postings, index)
            entries.append(_entry(posted, posting, occurred_at, counterparty))
    return entries


def _counterparty_code(postings: Sequence[Posting], index: int) -> str | None:
    # Only a two-sided transaction has one obvious other side; a sweep of many users into System
    # Credits has none, and naming an arbitrary one would mislead the reader of the log.
    if len(postings) != 2:
        return None
    return postings[1 - index].account_code


def _entry(posted: TransactionPosted, posting: Posting, occurred_at: datetime, counterparty: str | None) -> LogEntry:
    return LogEntry(
        id=entry_id(posted.transaction_id, posting.account_id),
        tenant_id=posted.tenant_id,
        account_id=posting.account_id,
        account_code=posting.account_code,
        ledger_seq=posted.seq,
        transaction_id=posted.transaction_id,
        occurred_at=occurred_at,
        direction="in" if posting.amount > 0 else "out",
        quantity=abs(posting.amount),
        kind=posted.kind,
        balance_after=posting.balance_after,
        counterparty_code=counterparty,
        actor_user_id=posted.actor_user_id,
        reference=posted.reference,
        note=posted.note,
    )


def _as_utc(moment: datetime) -> datetime:
    # The ledger sends aware UTC times; a naive one can only have meant UTC, and refusing the event
    # would drop a credit movement from the audit trail over a formatting slip.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def encode_cursor(cursor: Cursor) -> str:
    raw = f"{_as_utc(cursor.occurred_at).isoformat()}|{cursor.entry_id}"
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


def log_filter(
    *,
    tenant_id: uuid.UUID,
    account_ids: Sequence[uuid.UUID],
    days: int,
    kind: str | None,
    direction: Direction | None,
    cursor: str | None,
    limit: int,
    now: datetime,
) -> LogFilter:
    _check_range("days", days, 1, MAX_DAYS)
    _check_range("limit", limit, 1, MAX_LIMIT)
    return LogFilter(
        tenant_id=tenant_id,
        # Each account is read once: a repeated one would otherwise return its entries twice.
        account_ids=tuple(dict.fromkeys(account_ids)),
        since=now - timedelta(days=days),
        kind=kind,
        direction=direction,
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
