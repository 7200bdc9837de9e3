"""Which postings and hold changes become log entries, pure and synchronous."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from common import accounts
from common.contracts.events import HoldChange, LotChange, Posting, TransactionPosted

Direction = Literal["in", "out"]
# The kinds this service words; any other kind the ledger sends is kept as it came (labels.kind_label
# makes it readable). `expiry` is a hold that lapsed (it moves no credits); `lot_expiry` is credits of one
# lot that lapsed (account -> expired); `grant` is promotional credits an operator gave (promotions -> account).
Kind = Literal[
    "purchase", "transfer", "hold", "capture", "void", "expiry", "mode_change", "refund", "grant", "lot_expiry",
    "delivery_refund"
]

# Any constant works; changing it would give already-recorded postings new ids, so it never changes.
_ENTRY_NAMESPACE = uuid.UUID("0b7f3c52-5a8e-4d0c-9f1e-3a6d2c4b7e91")


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
    # How many of `quantity` were promotional credits (of lots not paid for): 0 before the ledger
    # described lots, and for rows it sent none for.
    promotional: int = 0
    # A `lot_expiry` row: when the lot lapsed (what its description says); None on every other kind.
    lot_expires_at: datetime | None = None

    @property
    def balance_change(self) -> int:
        """How much this row moved the account's balance (a reservation moves nothing)."""
        if self.reservation:
            return 0
        return self.quantity if self.direction == "in" else -self.quantity


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
    occurred_at = as_utc(posted.occurred_at)
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
        reference=log_reference(posted),
        note=posted.note,
        reservation=True,
        promotional=min(_promotional(posted.lots, hold.account_id, reserved=True), abs(hold.held_delta)),
        lot_expires_at=_lot_expires_at(posted, hold.account_id),
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
        reference=log_reference(posted),
        note=posted.note,
        promotional=min(_promotional(posted.lots, posting.account_id, reserved=False), abs(posting.amount)),
        lot_expires_at=_lot_expires_at(posted, posting.account_id),
    )


def _promotional(lots: Sequence[LotChange], account_id: uuid.UUID, *, reserved: bool) -> int:
    """Promotional credits among what the transaction did to the account: its changes to unpaid lots
    (reserved or released ones for a reservation row). Capped by the row's quantity by the callers, so
    a row never claims more promotional credits than it moved, whatever the lots add up to."""
    return sum(
        abs(lot.reserved_delta if reserved else lot.amount)
        for lot in lots
        if lot.account_id == account_id and not lot.paid
    )


def _lot_expires_at(posted: TransactionPosted, account_id: uuid.UUID) -> datetime | None:
    # The ledger posts one `lot_expiry` per lot and account, so the account's lot changes name one lot.
    if posted.kind != "lot_expiry":
        return None
    moments = [lot.expires_at for lot in posted.lots if lot.account_id == account_id and lot.expires_at]
    return as_utc(max(moments)) if moments else None


def log_reference(posted: TransactionPosted) -> str | None:
    """What a row's reference says: the ledger's own (`purchase:<id>`, a message's hold, ...), else for a
    transfer `transfer:<transaction id>`, so that every transfer row names the transfer a client can read
    (GET /transfers/{id}); migration 0003 gave rows recorded before the same reference."""
    if posted.reference is None and posted.kind == "transfer":
        return f"transfer:{posted.transaction_id}"
    return posted.reference


def as_utc(moment: datetime) -> datetime:
    # The ledger sends aware UTC times; a naive one can only have meant UTC, and refusing the event
    # would drop a credit movement from the audit trail over a formatting slip.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
