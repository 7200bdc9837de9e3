"""The ledger's rules, pure and synchronous.

A transaction is a list of movements (account, signed amount) that must sum to zero. Applying it to
the locked accounts either yields the postings with each account's balance after, or raises: nothing
in between, so a use case never writes half a transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from common.accounts import USER_FACING, WORLD, AccountKind
from common.problems import Conflict, NotFound, RuleBroken


class InsufficientCredits(RuleBroken):
    slug = "insufficient-credits"
    title = "Not enough credits"


class IdempotencyKeyReused(Conflict):
    slug = "idempotency-key-reused"
    title = "Idempotency key already used for a different request"


class AccountNotFound(NotFound):
    slug = "account-not-found"


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
class PlannedPosting:
    account_id: uuid.UUID
    code: str
    amount: int
    balance_after: int
    held_after: int


def plan_postings(accounts: Mapping[str, Account], movements: Sequence[Movement]) -> list[PlannedPosting]:
    """The postings that carry out `movements` on `accounts` (keyed by code), checking every rule."""
    if sum(m.amount for m in movements) != 0:
        raise UnbalancedTransaction(f"movements sum to {sum(m.amount for m in movements)}")
    if any(m.amount == 0 for m in movements):
        raise UnbalancedTransaction("a movement of zero credits")
    running = {code: account.balance for code, account in accounts.items()}
    planned = []
    for movement in movements:
        account = accounts[movement.code]
        running[movement.code] += movement.amount
        planned.append(
            PlannedPosting(
                account_id=account.id,
                code=movement.code,
                amount=movement.amount,
                balance_after=running[movement.code],
                held_after=account.held,
            )
        )
    for code, balance in running.items():
        account = accounts[code]
        if account.user_facing and balance - account.held < 0:
            needed = account.balance - balance
            raise InsufficientCredits(
                f"The account has {account.available} credits available; {needed} are needed."
            )
    return planned


def purchase_movements(account_code: str, quantity: int) -> list[Movement]:
    """Purchased credits come from `world`, the outside, into the credited account."""
    if quantity <= 0:
        raise UnbalancedTransaction("a purchase of no credits")
    return [Movement(WORLD, -quantity), Movement(account_code, quantity)]
