"""The log's rules, pure and synchronous: which postings and hold changes become log entries, what a
page cursor is, and which rows a log request selects."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from common import accounts
from common.events import HoldChange, Posting, TransactionPosted
from common.problems import MalformedRequest, RuleBroken

Direction = Literal["in", "out"]
Kind = Literal["purchase", "transfer", "hold", "capture", "void", "expiry", "mode_change", "refund"]
# Which accounts a request reads: the ones it names, every user-facing account of the caller's tenant
# (a master), or every user account of it, System Credits aside (a user with manage_credits). The
# gateway decides which scope a caller may use; naming the scope keeps hundreds of ids out of a URL.
Scope = Literal["accounts", "tenant", "users"]

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


class AccountsMissing(MalformedRequest):
    slug = "accounts-missing"


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
    # A hold, void or expiry: shown, but it moves no balance and no total counts it.
    reservation: bool = False

    @property
    def balance_change(self) -> int:
        """How much this row moved the account's balance (a reservation moves nothing)."""
        if self.reservation:
            return 0
        return self.quantity if self.direction == "in" else -self.quantity


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


def entry_id(transaction_id: uuid.UUID, account_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(_ENTRY_NAMESPACE, f"{transaction_id}/{account_id}")


def is_user_facing(account_code: str) -> bool:
    try:
        return accounts.kind_of(account_code) in accounts.USER_FACING
    except ValueError as exc:
        raise UnreadablePosting(str(exc)) from exc


def log_entries_of(posted: TransactionPosted) -> list[LogEntry]:
    """The log lines a ledger transaction adds: one per posting on a user-facing account, and one per
    hold change on a user-facing account that no posting of the transaction already shows."""
    occurred_at = _as_utc(posted.occurred_at)
    entries = []
    for index, posting in enumerate(posted.postings):
        if is_user_facing(posting.account_code):
            counterparty = _counterparty_code(posted.postings, index)
            entries.append(_entry(posted, posting, occurred_at, counterparty))
    moved = {posting.account_id for posting in posted.postings}
    for hold in posted.holds:
        if _is_reservation_row(posted.kind, hold, moved):
            entries.append(_reservation_entry(posted, hold, occurred_at))
    return entries


def _is_reservation_row(kind: str, hold: HoldChange, moved: set[uuid.UUID]) -> bool:
    # A capture releases its hold and spends in the same transaction: its posting row is what shows
    # the spending, and a second "released" row beside it would read as credits coming back. The
    # same goes for any transaction that posts to the account it releases. One row per transaction
    # and account also keeps the log's rule "one entry per (transaction, account)" true.
    if kind == "capture" or hold.account_id in moved or hold.held_delta == 0:
        return False
    return is_user_facing(hold.account_code)


def _reservation_entry(posted: TransactionPosted, hold: HoldChange, occurred_at: datetime) -> LogEntry:
    return LogEntry(
        id=entry_id(posted.transaction_id, hold.account_id),
        tenant_id=posted.tenant_id,
        account_id=hold.account_id,
        account_code=hold.account_code,
        ledger_seq=posted.seq,
        transaction_id=posted.transaction_id,
        occurred_at=occurred_at,
        # Reserving takes credits out of what is available; releasing (void, expiry) gives them back.
        direction="out" if hold.held_delta > 0 else "in",
        quantity=abs(hold.held_delta),
        kind=posted.kind,
        balance_after=hold.balance_after,  # a hold never changes the balance itself
        counterparty_code=None,
        actor_user_id=posted.actor_user_id,
        reference=posted.reference,
        note=posted.note,
        reservation=True,
    )


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
