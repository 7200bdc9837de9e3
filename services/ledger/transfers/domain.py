"""The rules of a transfer, pure and synchronous: who may move credits from and to which account, in
which credit mode (the balance is checked by the posting itself, on the locked rows); and how pages of
transfers are cut (keyset cursors)."""

from __future__ import annotations

from dataclasses import dataclass

from common import permissions
from common.contracts import problems
from common.problems import Forbidden, NotFound, RuleBroken
from services.ledger.postings.domain import Movement, check_quantity


class TermsNotAccepted(RuleBroken):
    problem = problems.TERMS_NOT_ACCEPTED


class SameAccount(RuleBroken):
    problem = problems.SAME_ACCOUNT


class TransfersNeedIndividualMode(RuleBroken):
    problem = problems.SHARED_MODE


class RecipientCannotReceive(RuleBroken):
    problem = problems.RECIPIENT_CANNOT_RECEIVE


class AccountForbidden(Forbidden):
    problem = problems.ACCOUNT_FORBIDDEN


class TransferNotFound(NotFound):
    problem = problems.TRANSFER_NOT_FOUND


@dataclass(frozen=True)
class Holder:
    """Whose an account is, as far as the rules care: System Credits (owner None) or a user."""

    code: str
    owner: permissions.Owner | None
    can_receive: bool  # System Credits, or an active user allowed to send SMS


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

