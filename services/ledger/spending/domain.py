"""Spending's rules, pure and synchronous: what an undelivered recipient's credits may come back as."""

from __future__ import annotations

from common.accounts import SPENT, SYSTEM
from common.bus import PoisonEvent
from common.contracts.events import MessageUndelivered
from common.idempotency import request_fingerprint
from services.ledger.lots.rules import Lot, LotRules, NewLot
from services.ledger.postings.domain import Movement, PostingRequest


class NotSettledYet(Exception):
    """The give-back came before the capture it gives back from (events may overtake each other): it is
    offered again shortly, by the broker."""


def check_give_back(status: str, captured: int, given_back: int, credits: int) -> bool:
    """Whether a recipient's credits may come back now: only from a capture (a hold voided or expired
    charged nothing), and never more than it took."""
    if status == "open":
        raise NotSettledYet("the message's hold is not captured yet")
    if status != "captured":
        return False
    if given_back + credits > captured:
        raise PoisonEvent(f"{credits} more credits back would exceed the {captured} captured ({given_back} given back)")
    return True


def give_back_to(paid_from: str, credit_mode: str | None, can_receive: bool) -> str:
    """Where an undelivered recipient's credits go: back to the account that paid, unless that is a user's
    account that can no longer spend them (the tenant switched to shared mode, or the user may no longer
    send SMS, since the capture): then to System Credits, as the switch's or the user's sweep would have."""
    if paid_from == SYSTEM:
        return SYSTEM
    return paid_from if credit_mode != "shared" and can_receive else SYSTEM


def refund_key(undelivered: MessageUndelivered) -> str:
    """Keyed by the recipient's part: however often it is announced, it comes back once."""
    return f"delivery-refund:{undelivered.part_id}"


def delivery_refund(
    undelivered: MessageUndelivered, account_code: str, reference: str | None, refill: list[tuple[Lot, int]],
) -> PostingRequest:
    """The `delivery_refund` transaction: from `spent` back to the account that paid, into the lots the
    capture took the credits from (`refill`); any part of it the capture took from no lot (a hold placed
    before lots existed) comes back as a compensation lot of its own."""
    return PostingRequest(
        tenant_id=undelivered.tenant_id, kind="delivery_refund",
        idempotency_key=refund_key(undelivered),
        request_hash=request_fingerprint([str(undelivered.hold_id), str(undelivered.part_id), undelivered.credits]),
        movements=[Movement(SPENT, -undelivered.credits), Movement(account_code, undelivered.credits)],
        actor_user_id=undelivered.sender_user_id, hold_id=undelivered.hold_id, reference=reference,
        note=f"Not delivered to {undelivered.recipient} ({undelivered.status}): credits back",
        lots=LotRules(refill=tuple(refill),
                      new_lot=NewLot("compensation", True, None, f"delivery-refund:{undelivered.part_id}")),
    )
