"""Messaging's internal HTTP API: the gateway hands over a message whose credits it holds, and reads a
message's status. Declared once: messaging's routes validate and answer with these classes, the
gateway's messaging client (`gateway.clients.messaging`) sends and parses with them.

A recipient's status reaches the public API unchanged, so `RecipientView` doubles as the public schema:
hence its description, and no docstring (it would become the OpenAPI document's description).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

MessageStatus = Literal["queued", "submitted", "delivered", "failed"]
Delivery = Literal["pending", "delivered", "undeliverable", "expired", "rejected"]


class MessageOrder(BaseModel):
    """A message whose credits are held: messaging submits it and settles the hold with what the
    carrier accepted. The sender is the caller's identity; the id makes a retried hand-over one."""

    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID
    hold_id: uuid.UUID
    hold_expires_at: datetime
    account_code: str = Field(max_length=100)
    recipients: list[str] = Field(min_length=1, max_length=1000)
    body: str = Field(max_length=5000)
    segments: StrictInt
    credits: StrictInt
    # What one segment costs to each recipient, in their order (destination pricing); absent: 1 each.
    credits_per_segment: list[StrictInt] | None = Field(default=None, max_length=1000)


class RecipientView(BaseModel):
    to: str
    status: MessageStatus
    error_code: int | None = Field(description="The carrier's SMPP status when it refused the message")
    delivery: Delivery = Field(default="pending", description=(
        "pending until the carrier's delivery receipt: delivered, undeliverable, expired (no receipt in time, or "
        "the carrier gave up), rejected (refused at submission, or by the carrier later)"))
    credits: int = Field(default=0, description="What this recipient was charged: accepted segments x its rate")
    credits_returned: int = Field(default=0, description=(
        "Given back because the message did not arrive (the ledger returns them unless the tenant's policy "
        "keeps undelivered messages charged)"))


class Message(BaseModel):
    """A message as messaging answers it (POST /messages, GET /messages/{id}): its account by code, not
    yet by the id clients see."""

    id: uuid.UUID
    status: MessageStatus
    encoding: str
    segments: int
    credits: int
    captured_credits: int | None
    created_at: datetime
    settled_at: datetime | None
    sender_user_id: uuid.UUID
    account_code: str
    recipients: list[RecipientView]


# -- Destination pricing: GET and PUT /destination-rates --------------------------------------------------
# Reaches the public API unchanged (GET /api/v1/destination-rates, PUT /api/v1/admin/destination-rates).


class DestinationRates(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rates: dict[str, StrictInt] = Field(description=(
        "Credits per SMS segment by destination country (ISO 3166 alpha-2, as phonenumbers names it: AU, NZ, "
        "GB); `*` is every other country"))
