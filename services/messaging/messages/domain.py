"""A message's rules, pure and synchronous: what a hand-over must hold, and how a carrier's answers and
receipts turn into a recipient's and a message's status."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from common import destinations, sms
from common.contracts import events, problems
from common.problems import Conflict, Forbidden, NotFound, RuleBroken

# The source of every event messaging publishes.
SOURCE = events.source("messaging")

PartState = Literal["queued", "submitting", "accepted", "rejected", "expired"]
Status = Literal["queued", "submitted", "delivered", "failed"]
# A recipient's message after the carrier accepted it: on its way (pending) until a receipt (or the lack of
# one within the validity period) settles it.
Delivery = Literal["pending", "delivered", "undeliverable", "expired", "rejected"]
UNANSWERED: tuple[PartState, ...] = ("queued", "submitting")
# What gives a captured recipient's credits back.
REFUNDABLE: frozenset[str] = frozenset({"undeliverable", "expired", "rejected"})

DELIVERED_STATS = frozenset({"DELIVRD"})
FAILED_STATS = frozenset({"UNDELIV", "REJECTD", "EXPIRED", "DELETED", "UNKNOWN"})


class MessageNotFound(NotFound):
    problem = problems.MESSAGE_NOT_FOUND


class MessageForbidden(Forbidden):
    problem = problems.MESSAGE_FORBIDDEN


class MessageKeyReused(Conflict):
    problem = problems.IDEMPOTENCY_KEY_REUSED


class InvalidMessage(RuleBroken):
    problem = problems.INVALID_MESSAGE


@dataclass(frozen=True)
class Order:
    """A message as the gateway hands it over, already paid for by a hold."""

    message_id: uuid.UUID
    hold_id: uuid.UUID
    hold_expires_at: datetime
    tenant_id: uuid.UUID
    sender_user_id: uuid.UUID
    account_code: str
    recipients: tuple[str, ...]
    body: str
    segments: int
    credits: int
    credits_per_segment: tuple[int, ...] | None = None  # per recipient; None: priced here, by the table


class PricesChanged(Conflict):
    problem = problems.PRICES_CHANGED


def check_order(order: Order, rates: Mapping[str, int]) -> tuple[sms.Segmentation, tuple[int, ...]]:
    """The gateway counted the credits it held; count again, so a hold can never pay for less than
    what would be sent. Answers the segmentation and each recipient's credits per segment."""
    if not order.recipients:
        raise InvalidMessage("A message needs at least one recipient.")
    normalised = []
    for number in order.recipients:
        try:
            normalised.append(sms.e164(number))
        except sms.InvalidNumber as exc:
            raise InvalidMessage(f"A recipient is not a valid number: {exc}") from None
    if normalised != list(order.recipients) or len(set(normalised)) != len(normalised):
        raise InvalidMessage("Recipients must be distinct E.164 numbers.")
    segmentation = sms.segment(order.body)
    if segmentation.segments == 0 or segmentation.segments != order.segments:
        raise InvalidMessage(f"The body is {segmentation.segments} segments, not {order.segments}.")
    priced = tuple(destinations.price(order.recipients, rates))
    if order.credits_per_segment is not None and tuple(order.credits_per_segment) != priced:
        # The operator changed the table between the gateway's quote and this hand-over.
        raise PricesChanged("The prices of these destinations changed while the message was on its way: "
                            "send it again to be charged the new ones.")
    if order.credits != order.segments * sum(priced):
        raise InvalidMessage("Credits must be segments times each recipient's credits per segment.")
    return segmentation, priced


@dataclass(frozen=True)
class PartView:
    recipient: str
    state: PartState
    carrier_ids: tuple[str, ...]
    error_code: int | None
    credits_per_segment: int = 1
    delivery: str | None = None  # final delivery once known: delivered | undeliverable | expired | rejected
    refund_announced: bool = False

    @property
    def captured_credits(self) -> int:
        """What the recipient was charged: each segment the carrier accepted, at the destination's rate."""
        return len(self.carrier_ids) * self.credits_per_segment


def final_delivery(stats: Sequence[str | None], segments: int) -> str | None:
    """A part's delivery from its segments' receipt states (SMPP 3.4 appendix B), or None while it is
    still on its way. One segment that fails fails the recipient's message: a handset shows nothing of
    a concatenated message missing a part. `REJECTD` and `EXPIRED` keep their names."""
    if "REJECTD" in stats:
        return "rejected"
    if "EXPIRED" in stats:
        return "expired"
    if any(stat in FAILED_STATS for stat in stats):
        return "undeliverable"
    if len(stats) == segments and all(stat in DELIVERED_STATS for stat in stats):
        return "delivered"
    return None


def delivery_of(part: PartView) -> Delivery:
    """What a recipient's message became, as the API shows it."""
    if part.state == "rejected":
        return "rejected"  # refused at submission: never charged
    if part.state == "expired":
        return "expired"  # its hold ran out before it went: never charged
    if part.state != "accepted" or part.delivery is None:
        return "pending"
    return part.delivery  # type: ignore[return-value]


def part_status(part: PartView, segments: int, receipts: Mapping[str, str]) -> Status:
    """queued until the carrier answered every segment; failed when it refused one or a receipt says
    so; delivered when every segment's receipt says delivered; submitted in between."""
    if part.state in UNANSWERED:
        return "queued"
    if part.state != "accepted" or part.delivery in REFUNDABLE:
        return "failed"  # refused, out of time, or settled as not arriving (no receipt within its validity)
    stats = [receipts.get(carrier_id) for carrier_id in part.carrier_ids]
    if any(stat in FAILED_STATS for stat in stats):
        return "failed"
    if len(stats) == segments and all(stat in DELIVERED_STATS for stat in stats):
        return "delivered"
    return "submitted"


def message_status(statuses: Sequence[Status]) -> Status:
    """A message is queued while any recipient is; then delivered once any recipient got it and none is
    still on its way, failed when none got it, submitted otherwise."""
    if "queued" in statuses:
        return "queued"
    if "submitted" in statuses:
        return "submitted"
    return "delivered" if "delivered" in statuses else "failed"
