"""The rules of holds, pure and synchronous: who may hold credits on which account, how much a capture
takes, and whether a capture or void still has anything to do."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from common.accounts import SYSTEM, user_code
from common.contracts import problems
from common.identity import Identity
from common.problems import Conflict, Forbidden, NotFound, RuleBroken
from services.ledger.postings.domain import Account, QuantityOutOfRange


class HoldNotFound(NotFound):
    problem = problems.HOLD_NOT_FOUND


class HoldAlreadyResolved(Conflict):
    problem = problems.HOLD_RESOLVED


class HoldsNeedService(Forbidden):
    problem = problems.SERVICE_ONLY


class UserCreditsInSharedMode(RuleBroken):
    problem = problems.SHARED_MODE


class NotTheSendingAccount(Forbidden):
    problem = problems.NOT_SENDING_ACCOUNT


@dataclass(frozen=True)
class HoldState:
    id: uuid.UUID
    account_id: uuid.UUID
    code: str
    quantity: int
    captured: int
    status: str  # open | captured | voided | expired


@dataclass(frozen=True)
class HoldView:
    id: uuid.UUID
    account_id: uuid.UUID
    quantity: int
    captured: int
    status: str
    reference: str | None
    expires_at: datetime
    balance: int
    held: int
    available: int


def require_service(identity: Identity) -> None:
    if identity.role != "service":
        raise HoldsNeedService("Holds are for internal systems with a service token.")


def require_operator(identity: Identity) -> None:
    if identity.role != "operator":
        raise HoldsNeedService("Only operators ask this.")


def require_service_or_sender(identity: Identity) -> None:
    """Internal systems hold credits on any account; a person only when sending SMS (see below)."""
    if identity.role == "service" or (identity.role in ("master", "user") and identity.send_sms and identity.user_id):
        return
    raise HoldsNeedService("Holds are for internal systems, and for people allowed to send SMS.")


def sending_code(identity: Identity, mode: str | None) -> str:
    """The account a person's messages are paid from: System Credits in shared mode, else their own."""
    assert identity.user_id is not None
    return SYSTEM if mode == "shared" else user_code(identity.user_id)


def require_sending_account(identity: Identity, code: str, mode: str | None) -> None:
    if identity.role != "service" and code != sending_code(identity, mode):
        raise NotTheSendingAccount("A sender spends only from the account they send from: their own User Credits "
                                   "in individual mode, System Credits in shared mode.")


def limited_sender(identity: Identity) -> uuid.UUID | None:
    """The person whose monthly credit limit a hold counts against: whoever sends (the gateway places a
    message's hold with the sender's identity). A hold an internal system places for itself is no one's
    message, and no person's limit applies to it."""
    return identity.user_id if identity.role in ("master", "user") else None


def check_hold_account(identity: Identity, account: Account, mode: str | None) -> None:
    """Whether `account` may be held on, in the tenant's credit `mode` as read under the posting's locks."""
    require_sending_account(identity, account.code, mode or identity.credit_mode)
    if account.kind == "user" and mode == "shared":
        raise UserCreditsInSharedMode("In shared mode credits are spent from System Credits.")


def check_expiry(expires_in: int, maximum: int) -> None:
    if expires_in > maximum:
        raise QuantityOutOfRange(f"A hold lasts at most {maximum} seconds.")


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
