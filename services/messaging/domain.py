"""Messaging's rules, pure and synchronous: what a message costs, the PDUs its segments become, how a
carrier's answers and receipts turn into a status, and what is captured when every part is answered."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from common import sms
from common.problems import Conflict, Forbidden, NotFound, RuleBroken

PartState = Literal["queued", "submitting", "accepted", "rejected", "expired"]
Status = Literal["queued", "submitted", "delivered", "failed"]
UNANSWERED: tuple[PartState, ...] = ("queued", "submitting")

# SMPP data_coding: 0 is the SMSC default alphabet (GSM 03.38 here), 8 is UCS-2.
DATA_CODING = {"gsm7": 0x00, "ucs2": 0x08}
ESM_CLASS_UDHI = 0x40  # the short message starts with a user data header
# Answers that say "not now", not "never": the part is offered again after a pause.
ESME_RMSGQFUL, ESME_RTHROTTLED = 0x14, 0x58
TRANSIENT_STATUSES = frozenset({ESME_RMSGQFUL, ESME_RTHROTTLED})


class MessageNotFound(NotFound):
    slug = "message-not-found"


class MessageForbidden(Forbidden):
    slug = "message-forbidden"


class MessageKeyReused(Conflict):
    slug = "idempotency-key-reused"
    title = "Idempotency key already used for a different request"


class InvalidMessage(RuleBroken):
    slug = "invalid-message"


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


def check_order(order: Order) -> sms.Segmentation:
    """The gateway counted the credits it held; count again, so a hold can never pay for less than
    what would be sent."""
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
    if order.credits != order.segments * len(order.recipients):
        raise InvalidMessage("Credits must be segments times recipients.")
    return segmentation


# --- Submitting ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pdu:
    short_message: bytes
    data_coding: int
    esm_class: int


def concat_reference(message_id: uuid.UUID) -> int:
    """The 8-bit reference that tells a handset which parts belong together: derived from the message,
    so a part submitted again after a crash carries the same header."""
    return message_id.int & 0xFF


def pdus(segmentation: sms.Segmentation, reference: int) -> list[Pdu]:
    """One submit_sm payload per segment: GSM text as unpacked septets (the SMSC packs them), UCS-2 as
    UTF-16BE; a concatenated message's parts each start with the 6-byte UDH (IEI 0x00, 8-bit ref)."""
    data_coding = DATA_CODING[segmentation.encoding]
    codec = "gsm03.38" if segmentation.encoding == "gsm7" else "utf-16-be"
    total = segmentation.segments
    if total == 1:
        return [Pdu(segmentation.parts[0].encode(codec), data_coding, 0)]
    return [
        Pdu(bytes([0x05, 0x00, 0x03, reference, total, seq]) + part.encode(codec), data_coding, ESM_CLASS_UDHI)
        for seq, part in enumerate(segmentation.parts, start=1)
    ]


def carrier_reference(part_id: uuid.UUID, seq: int) -> str:
    """Stable across attempts: a segment submitted again is recognised by the carrier as the same one."""
    return f"{part_id}/{seq}"


def may_submit(hold_expires_at: datetime, now: datetime, margin_seconds: float) -> bool:
    """Never submit once the hold may have expired: the ledger would have released its credits, and a
    message whose credits are not reserved is never sent."""
    return now < hold_expires_at - timedelta(seconds=margin_seconds)


# --- Receipts and status -----------------------------------------------------------------------------

_RECEIPT_FIELD = re.compile(r"(id|stat|err):(\S*)", re.IGNORECASE)
DELIVERED_STATS = frozenset({"DELIVRD"})
FAILED_STATS = frozenset({"UNDELIV", "REJECTD", "EXPIRED", "DELETED", "UNKNOWN"})


@dataclass(frozen=True)
class Receipt:
    carrier_id: str
    stat: str
    error: str | None


def parse_receipt(text: bytes, receipted_id: str | None = None) -> Receipt | None:
    """A delivery receipt's `id:... stat:... err:...` text (SMPP 3.4 appendix B); the
    receipted_message_id TLV wins over the text's id when the carrier sends both."""
    fields = {key.lower(): value for key, value in _RECEIPT_FIELD.findall(text.decode("latin-1"))}
    carrier_id = receipted_id or fields.get("id")
    if not carrier_id or "stat" not in fields:
        return None
    return Receipt(carrier_id, fields["stat"].upper(), fields.get("err"))


@dataclass(frozen=True)
class PartView:
    recipient: str
    state: PartState
    carrier_ids: tuple[str, ...]
    error_code: int | None


def part_status(part: PartView, segments: int, receipts: Mapping[str, str]) -> Status:
    """queued until the carrier answered every segment; failed when it refused one or a receipt says
    so; delivered when every segment's receipt says delivered; submitted in between."""
    if part.state in UNANSWERED:
        return "queued"
    if part.state != "accepted":
        return "failed"
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


def captured_credits(parts: Iterable[PartView]) -> int:
    """One credit per segment the carrier accepted, per recipient: exactly what was sent."""
    return sum(len(part.carrier_ids) for part in parts)
