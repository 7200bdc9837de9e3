"""The shapes of refund requests and answers; money leaves as decimal strings."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, StrictInt

from services.billing.domain import format_money
from services.billing.refund_rules import Refund, RefundStatus


class RefundIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quantity: StrictInt


class RefundOut(BaseModel):
    id: uuid.UUID
    purchase_id: uuid.UUID
    status: RefundStatus
    quantity: int
    subtotal: str
    tax: str
    total: str
    currency: str
    requested_by: uuid.UUID
    failure_reason: str | None
    credits_restored: bool
    adjustment_note_number: str | None
    adjustment_note_url: str | None
    created_at: datetime
    settled_at: datetime | None

    @classmethod
    def of(cls, refund: Refund, currency: str) -> RefundOut:
        note_url = (
            f"/api/v1/purchases/{refund.purchase_id}/refunds/{refund.id}/adjustment-note.pdf"
            if refund.status == "refunded"
            else None
        )
        return cls(
            id=refund.id,
            purchase_id=refund.purchase_id,
            status=refund.status,
            quantity=refund.quantity,
            subtotal=format_money(refund.amounts.subtotal_cents),
            tax=format_money(refund.amounts.tax_cents),
            total=format_money(refund.amounts.total_cents),
            currency=currency,
            requested_by=refund.requested_by,
            failure_reason=refund.failure_reason,
            credits_restored=refund.credits_restored_at is not None,
            adjustment_note_number=refund.adjustment_note_number,
            adjustment_note_url=note_url,
            created_at=refund.created_at,
            settled_at=refund.settled_at,
        )
