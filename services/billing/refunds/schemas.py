"""Refunds in the shape of billing's API (`common.contracts.billing`); money leaves as decimal strings."""

from __future__ import annotations

from common.contracts.billing import RefundView
from services.billing.price_lists.domain import format_money
from services.billing.refunds.domain import Refund


def refund_answer(refund: Refund, currency: str) -> RefundView:
    note_url = (
        f"/api/v1/purchases/{refund.purchase_id}/refunds/{refund.id}/adjustment-note.pdf"
        if refund.status == "refunded"
        else None
    )
    return RefundView(
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
