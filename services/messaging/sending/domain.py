"""Sending's rules, pure and synchronous: the PDUs a message's segments become, when a segment may still
go, how a carrier's receipt reads, and what is captured when every part is answered."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from common import sms
from services.messaging.messages.domain import PartView

# SMPP data_coding: 0 is the SMSC default alphabet (GSM 03.38 here), 8 is UCS-2.
DATA_CODING = {"gsm7": 0x00, "ucs2": 0x08}
ESM_CLASS_UDHI = 0x40  # the short message starts with a user data header
# Answers that say "not now", not "never": the part is offered again after a pause.
ESME_RMSGQFUL, ESME_RTHROTTLED = 0x14, 0x58
TRANSIENT_STATUSES = frozenset({ESME_RMSGQFUL, ESME_RTHROTTLED})


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


# --- Receipts and settlement -------------------------------------------------------------------------

_RECEIPT_FIELD = re.compile(r"(id|stat|err):(\S*)", re.IGNORECASE)


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


def captured_credits(parts: Iterable[PartView]) -> int:
    """Each segment the carrier accepted, per recipient, at its destination's rate: exactly what was sent."""
    return sum(part.captured_credits for part in parts)
