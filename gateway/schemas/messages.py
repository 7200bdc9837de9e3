"""The public API's shapes for sending SMS (see `credits.py` for the rest). A recipient's status is
messaging's own contract model (`common.contracts.messaging`), relayed unchanged."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, StrictInt

from common.contracts.messaging import DestinationRates as DestinationRates
from common.contracts.messaging import MessageStatus as MessageStatus
from common.contracts.messaging import RecipientView as RecipientView
from gateway.schemas.credits import _Request


class SendMessageRequest(_Request):
    from_account: uuid.UUID | None = Field(
        default=None, description="The account paying: your own User Credits (individual mode) or System Credits "
                                  "(shared mode), the only one allowed; left out, that one")
    to: list[str] = Field(min_length=1, max_length=1000, description="Recipients, E.164 (+61412345678)")
    body: str = Field(max_length=5000, description="The text; its length decides the segments")


class MessageAccepted(BaseModel):
    id: uuid.UUID
    status: MessageStatus
    from_account: uuid.UUID
    encoding: Literal["gsm7", "ucs2"]
    segments: int = Field(description="Segments of the body; each recipient costs this many credits")
    recipients: int
    credits: int = Field(description="Reserved now: segments x each recipient's credits per segment (by destination)")


class MessageView(BaseModel):
    id: uuid.UUID
    status: MessageStatus
    from_account: uuid.UUID
    encoding: Literal["gsm7", "ucs2"]
    segments: int
    credits: int = Field(description="Reserved when sent")
    captured_credits: int | None = Field(description="Spent, once the carrier answered for every recipient")
    created_at: datetime
    settled_at: datetime | None
    recipients: list[RecipientView]


class PreviewRequest(_Request):
    body: str = Field(max_length=5000)
    recipients: StrictInt = Field(default=1, ge=0, le=1000, description=(
        "How many recipients, to price it at the home rate (1 credit a segment) when `to` is not given"))
    to: list[str] | None = Field(default=None, max_length=1000, description=(
        "The recipients themselves (E.164): priced by their destination; numbers not (yet) valid are left out"))


class DestinationCost(BaseModel):
    region: str = Field(description="The destination country (ISO 3166 alpha-2)")
    recipients: int
    credits_per_segment: int
    credits: int = Field(description="segments x credits per segment x recipients")


class PreviewView(BaseModel):
    encoding: Literal["gsm7", "ucs2"] = Field(description="gsm7: GSM 03.38 alphabet; ucs2: any other character")
    characters: int
    units: int = Field(description="Septets (gsm7) or UTF-16 code units (ucs2)")
    segments: int
    per_segment: int = Field(description="160/153 (gsm7) or 70/67 (ucs2)")
    remaining: int = Field(description="Units left in the last segment")
    max_segments: int
    recipients: int
    credits: int
    destinations: list[DestinationCost] = Field(default=[], description=(
        "What the message costs to each destination country, when the recipients were given (`to`)"))
