"""Refund rules, pure and synchronous: who may refund what, how much money each refund gives back,
and the order a refund's steps may happen in.

A refund moves through a saga: billing records it (`requested`), the ledger takes the credits back
(`debited`) or refuses because they are gone (`rejected`), then the provider gives the money back
(`refunded`) or refuses (`failed`, and the ledger restores the credits). Every step checks the status
it expects, so a repeated or late message changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from common.contracts import problems
from common.identity import Identity
from common.problems import Forbidden, NotFound, RuleBroken
from services.billing.price_lists.domain import Quote
from services.billing.purchases.domain import Purchase

RefundStatus = Literal["requested", "debited", "refunded", "rejected", "failed"]
# Refunds that hold (or may still hold) part of the purchase: the rest is what may still be refunded.
ACTIVE_STATUSES: frozenset[str] = frozenset({"requested", "debited", "refunded"})
_STEPS: frozenset[tuple[str, str]] = frozenset(
    {("requested", "debited"), ("requested", "rejected"), ("debited", "refunded"), ("debited", "failed")}
)


class RefundsNeedMaster(Forbidden):
    problem = problems.REFUND_FORBIDDEN


class RefundNotFound(NotFound):
    problem = problems.REFUND_NOT_FOUND

    def __init__(self) -> None:
        super().__init__("There is no such refund.")


class RefundQuantityOutOfRange(RuleBroken):
    problem = problems.REFUND_QUANTITY_OUT_OF_RANGE


class PurchaseNotRefundable(RuleBroken):
    problem = problems.PURCHASE_NOT_REFUNDABLE


@dataclass(frozen=True)
class RefundAmounts:
    subtotal_cents: int
    tax_cents: int

    @property
    def total_cents(self) -> int:
        return self.subtotal_cents + self.tax_cents


@dataclass(frozen=True)
class Refund:
    id: uuid.UUID
    tenant_id: uuid.UUID
    purchase_id: uuid.UUID
    requested_by: uuid.UUID
    quantity: int
    amounts: RefundAmounts
    status: RefundStatus
    created_at: datetime
    failure_reason: str | None = None
    adjustment_note_number: str | None = None
    settled_at: datetime | None = None
    credits_restored_at: datetime | None = None

    @property
    def in_progress(self) -> bool:
        return self.status in ("requested", "debited")


@dataclass(frozen=True)
class RefundedSoFar:
    """What the purchase's active refunds already take: credits and money."""

    quantity: int = 0
    subtotal_cents: int = 0
    tax_cents: int = 0


def master_of(identity: Identity) -> tuple[uuid.UUID, uuid.UUID]:
    """The tenant and the master asking: only a master refunds."""
    if identity.role != "master" or identity.user_id is None:
        raise RefundsNeedMaster("Only a master may refund a purchase.")
    return identity.require_tenant(), identity.user_id


def may_step(current: str, target: RefundStatus) -> bool:
    return (current, target) in _STEPS


def check_refund(purchase: Purchase, quantity: int, so_far: RefundedSoFar) -> None:
    """A paid purchase whose credits the ledger applied, for at most the credits not refunded yet."""
    if purchase.status != "credited":
        raise PurchaseNotRefundable(
            "Only a paid purchase whose credits have been applied can be refunded."
            if purchase.status in ("pending", "failed", "paid")
            else "This purchase cannot be refunded."
        )
    left = purchase.quote.quantity - so_far.quantity
    if not 1 <= quantity <= left:
        message = (
            f"Between 1 and {left:,} credits of this purchase can still be refunded."
            if left
            else "Every credit of this purchase has been refunded already."
        )
        raise RefundQuantityOutOfRange(message, errors=[{"field": "quantity", "message": message}])


def _share(cents: int, part: int, whole: int) -> int:
    return int((Decimal(cents) * part / whole).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def allocate(quote: Quote, so_far: RefundedSoFar, quantity: int) -> RefundAmounts:
    """The money a refund of `quantity` credits gives back, ex tax and tax.

    The running total refunded is the invoice's subtotal and tax pro rata to the credits refunded so
    far, each rounded half up; a refund is the step in that running total. However a purchase is
    split into refunds, they add up to its invoice to the cent once every credit is refunded, and a
    full refund reverses exactly the tax the invoice charged."""
    refunded = so_far.quantity + quantity
    subtotal_after = _share(quote.subtotal_cents, refunded, quote.quantity)
    tax_after = _share(quote.tax_cents, refunded, quote.quantity)
    return RefundAmounts(
        subtotal_cents=max(0, subtotal_after - so_far.subtotal_cents),
        tax_cents=max(0, tax_after - so_far.tax_cents),
    )


def fingerprint(purchase_id: uuid.UUID, quantity: int) -> str:
    canonical = json.dumps({"purchase_id": str(purchase_id), "quantity": quantity}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()
