"""The ledger's rules, pure and synchronous.

A transaction is a list of movements (account, signed amount) that must sum to zero. Applying it to
the locked accounts either yields the postings with each account's balance after, or raises: nothing
in between, so a use case never writes half a transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from common import permissions
from common.accounts import USER_FACING, WORLD, AccountKind
from common.problems import Conflict, Forbidden, NotFound, RuleBroken


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
    for code, account in after.items():
        if account.held < 0:
            raise UnbalancedTransaction(f"{code} would hold {account.held} credits")
        if account.user_facing and account.available < 0:
            before = accounts[code]
            needed = before.available - account.available
            raise InsufficientCredits(f"The account has {before.available} credits available; {needed} are needed.")
    return Plan(postings, after)


def plan_postings(accounts: Mapping[str, Account], movements: Sequence[Movement]) -> list[PlannedPosting]:
    return plan(accounts, movements).postings


def purchase_movements(account_code: str, quantity: int) -> list[Movement]:
    """Purchased credits come from `world`, the outside, into the credited account."""
    if quantity <= 0:
        raise UnbalancedTransaction("a purchase of no credits")
    return [Movement(WORLD, -quantity), Movement(account_code, quantity)]


# --- Transfers ---------------------------------------------------------------------------------------


class QuantityOutOfRange(RuleBroken):
    slug = "quantity-out-of-range"


class TermsNotAccepted(RuleBroken):
    slug = "terms-not-accepted"


class SameAccount(RuleBroken):
    slug = "same-account"


class TransfersNeedIndividualMode(RuleBroken):
    slug = "shared-mode"


class RecipientCannotReceive(RuleBroken):
    slug = "recipient-cannot-receive"


class AccountForbidden(Forbidden):
    slug = "account-forbidden"


@dataclass(frozen=True)
class Holder:
    """Whose an account is, as far as the rules care: System Credits (owner None) or a user."""

    code: str
    owner: permissions.Owner | None
    can_receive: bool  # System Credits, or an active user allowed to send SMS


def check_quantity(quantity: int, maximum: int) -> None:
    if not 1 <= quantity <= maximum:
        raise QuantityOutOfRange(f"The quantity must be a whole number from 1 to {maximum:,}.")


def check_transfer(
    actor: permissions.Actor,
    source: Holder,
    target: Holder,
    quantity: int,
    accept_terms: bool,
    credit_mode: str,
    maximum: int,
) -> None:
    """Every rule of a transfer except the balance, which is checked on the locked rows."""
    check_quantity(quantity, maximum)
    if not accept_terms:
        raise TermsNotAccepted("Tick 'I agree to the conditions' to transfer credits.")
    if source.code == target.code:
        raise SameAccount("Choose two different accounts.")
    if credit_mode != "individual":
        raise TransfersNeedIndividualMode("Transfers need individual credit mode; this tenant shares one pool.")
    if not permissions.may_transfer_from(actor, source.owner):
        raise AccountForbidden("You may not transfer credits from this account.")
    if not permissions.may_transfer_to(actor, target.owner):
        raise AccountForbidden("You may not transfer credits to this account.")
    if not target.can_receive:
        raise RecipientCannotReceive("The recipient is inactive or may not send SMS, so cannot receive credits.")


def transfer_movements(source_code: str, target_code: str, quantity: int) -> list[Movement]:
    return [Movement(source_code, -quantity), Movement(target_code, quantity)]


# --- Holds -------------------------------------------------------------------------------------------


class HoldNotFound(NotFound):
    slug = "hold-not-found"


class HoldAlreadyResolved(Conflict):
    slug = "hold-resolved"
    title = "The hold was already resolved"


@dataclass(frozen=True)
class HoldState:
    id: uuid.UUID
    account_id: uuid.UUID
    code: str
    quantity: int
    captured: int
    status: str  # open | captured | voided | expired


def capture_amount(hold: HoldState, requested: int | None) -> int:
    """How much a capture takes: all by default, or part; more than was held is a client error."""
    amount = hold.quantity if requested is None else requested
    if not 0 <= amount <= hold.quantity:
        raise QuantityOutOfRange(f"A capture takes from 0 to {hold.quantity} credits of this hold.")
    return amount


def resolution(hold: HoldState, wanted: str) -> bool:
    """Whether a capture or void still has to be applied. Repeating the same resolution is harmless
    (False: nothing to do); capturing a voided or expired hold, or voiding a captured one, is a conflict."""
    if hold.status == "open":
        return True
    if hold.status == wanted or (wanted == "voided" and hold.status == "expired"):
        return False
    raise HoldAlreadyResolved(f"The hold was already {hold.status}.")


# --- Low balance -------------------------------------------------------------------------------------


def low_balance_alert(available: int, threshold: int, alerted: bool) -> tuple[bool, bool]:
    """(send an alert now, alerted afterwards): once per crossing below the threshold, and again only
    after the balance has been back at or above it."""
    if threshold <= 0:
        return False, False
    if available < threshold:
        return (not alerted), True
    return False, False
