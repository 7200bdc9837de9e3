"""The rules of posting, pure and synchronous: every feature that moves credits goes through them.

A transaction is a list of movements (account, signed amount) that must sum to zero. Applying it to
the locked accounts either yields the postings with each account's balance after, or raises: nothing
in between, so a use case never writes half a transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from common.accounts import USER_FACING, AccountKind
from common.contracts import problems
from common.identity import Identity
from common.problems import Conflict, Forbidden, NotFound, RuleBroken

if TYPE_CHECKING:
    from services.ledger.lots.rules import LotRules


class InsufficientCredits(RuleBroken):
    problem = problems.INSUFFICIENT_CREDITS


class IdempotencyKeyReused(Conflict):
    problem = problems.IDEMPOTENCY_KEY_REUSED


class AccountNotFound(NotFound):
    problem = problems.ACCOUNT_NOT_FOUND


class QuantityOutOfRange(RuleBroken):
    problem = problems.QUANTITY_OUT_OF_RANGE


class JournalNeedsService(Forbidden):
    problem = problems.SERVICE_ONLY


class UnbalancedTransaction(AssertionError):
    """A bug, not a client error: movements must always sum to zero."""


@dataclass(frozen=True)
class Account:
    id: uuid.UUID
    tenant_id: uuid.UUID
    code: str
    kind: AccountKind
    balance: int
    held: int
    low_balance_alerted: bool = False  # a low-balance alert was sent and the balance has not recovered

    @property
    def available(self) -> int:
        return self.balance - self.held

    @property
    def user_facing(self) -> bool:
        return self.kind in USER_FACING


@dataclass(frozen=True)
class Movement:
    code: str
    amount: int  # positive: into the account


@dataclass(frozen=True)
class PostingRequest:
    """One transaction as a feature asks for it: what moves, under which idempotency key, and why."""

    tenant_id: uuid.UUID
    kind: str
    idempotency_key: str
    request_hash: str
    movements: Sequence[Movement]
    actor_user_id: uuid.UUID | None = None
    reference: str | None = None
    note: str | None = None
    terms_version: str | None = None
    held_deltas: dict[str, int] = field(default_factory=dict)  # code -> change in reserved credits
    hold_id: uuid.UUID | None = None
    # The request that caused it, for its events' `requestid`: taken when the request is made, since it
    # may be written by a task that serves many requests (group commit).
    request_id: str | None = None
    # How the credits' lots are treated beyond the spending order (none: a transfer's rules).
    lots: LotRules | None = None

    @property
    def codes(self) -> list[str]:
        return [m.code for m in self.movements] + list(self.held_deltas)


@dataclass(frozen=True)
class PostedTransaction:
    id: uuid.UUID
    seq: int
    replayed: bool
    balances: dict[str, tuple[int, int]]  # code -> (balance, held) right after this transaction


@dataclass(frozen=True)
class PlannedPosting:
    account_id: uuid.UUID
    code: str
    amount: int
    balance_after: int
    held_after: int


@dataclass(frozen=True)
class Plan:
    postings: list[PlannedPosting]
    accounts_after: dict[str, Account]  # every account the transaction touched, as it will be


def plan(
    accounts: Mapping[str, Account],
    movements: Sequence[Movement],
    held_deltas: Mapping[str, int] | None = None,
) -> Plan:
    """Carry out `movements` (balance) and `held_deltas` (reservations) on the locked `accounts`
    (keyed by code), checking every rule: all or nothing."""
    if sum(m.amount for m in movements) != 0:
        raise UnbalancedTransaction(f"movements sum to {sum(m.amount for m in movements)}")
    if any(m.amount == 0 for m in movements):
        raise UnbalancedTransaction("a movement of zero credits")
    held = {code: accounts[code].held + delta for code, delta in (held_deltas or {}).items()}
    running = {code: account.balance for code, account in accounts.items()}
    postings = []
    for movement in movements:
        account = accounts[movement.code]
        running[movement.code] += movement.amount
        postings.append(
            PlannedPosting(
                account_id=account.id,
                code=movement.code,
                amount=movement.amount,
                balance_after=running[movement.code],
                held_after=held.get(movement.code, account.held),
            )
        )
    touched = {m.code for m in movements} | set(held)
    after = {
        code: replace(accounts[code], balance=running[code], held=held.get(code, accounts[code].held))
        for code in touched
    }
    _check_after(accounts, after)
    return Plan(postings, after)


def _check_after(before: Mapping[str, Account], after: Mapping[str, Account]) -> None:
    for code, account in after.items():
        if account.held < 0:
            raise UnbalancedTransaction(f"{code} would hold {account.held} credits")
        if account.user_facing and account.available < 0:
            available = before[code].available
            needed = available - account.available
            raise InsufficientCredits(f"The account has {available} credits available; {needed} are needed.")


def plan_postings(accounts: Mapping[str, Account], movements: Sequence[Movement]) -> list[PlannedPosting]:
    return plan(accounts, movements).postings


def check_quantity(quantity: int, maximum: int) -> None:
    """The bounds of any quantity a client asks to move or hold."""
    if not 1 <= quantity <= maximum:
        raise QuantityOutOfRange(f"The quantity must be a whole number from 1 to {maximum:,}.")


def require_journal_reader(identity: Identity) -> None:
    if identity.role not in ("operator", "service"):
        raise JournalNeedsService("Only operators and internal services read the journal.")


def low_balance_alert(available: int, threshold: int, alerted: bool) -> tuple[bool, bool]:
    """(send an alert now, alerted afterwards): once per crossing below the threshold, and again only
    after the balance has been back at or above it."""
    if threshold <= 0:
        return False, False
    if available < threshold:
        return (not alerted), True
    return False, False
