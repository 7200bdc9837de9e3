"""What a posting says about lots (`PostingRequest.lots`), apart from the rules that carry it out
(`lots/domain.py`), which themselves build on the posting's domain: the posting engine names these
without importing the lots' rules."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

ORIGINS = ("purchase", "grant", "compensation", "opening")


@dataclass(frozen=True)
class Lot:
    """Credits that came into the tenant together: their origin, expiry and whether they were paid for."""

    id: uuid.UUID
    origin: str
    paid: bool
    granted_at: datetime
    expires_at: datetime | None
    reference: str | None = None

    def lapsed(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


@dataclass(frozen=True)
class NewLot:
    """Credits entering from outside (a purchase, a grant): a lot of their own."""

    origin: str
    paid: bool
    expires_at: datetime | None
    reference: str | None
    id: uuid.UUID = field(default_factory=uuid.uuid4)

    def __post_init__(self) -> None:
        if self.origin not in ORIGINS:
            raise ValueError(f"unknown lot origin {self.origin!r}")


@dataclass(frozen=True)
class Pin:
    """What a hold reserved of one lot."""

    lot_id: uuid.UUID
    quantity: int


@dataclass(frozen=True)
class LotRules:
    """How a transaction treats lots beyond the spending order (the default, all empty, is a transfer's)."""

    new_lot: NewLot | None = None  # credits from outside start this lot
    refill: tuple[tuple[Lot, int], ...] = ()  # credits from outside go back into these lots (a failed refund)
    only_lots: frozenset[uuid.UUID] | None = None  # credits leave only from these lots (a refund, an expiry)
    include_lapsed: bool = False  # lapsed credits may leave too (to be expired, or swept with their lot)
    pins: tuple[Pin, ...] = ()  # what the hold being settled reserved: released, and a capture spends from it
