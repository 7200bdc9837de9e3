"""The transactions of a refund's steps. The idempotency keys are the refund's (`refund:<id>`,
`refund:<id>:restore`), so even a second event for the same refund moves no credit twice."""

from __future__ import annotations

from common.accounts import WORLD
from common.contracts.events import RefundFailed, RefundRequested
from common.idempotency import request_fingerprint
from services.ledger.postings.domain import Movement, PostingRequest


def debit(refund: RefundRequested) -> PostingRequest:
    return PostingRequest(
        tenant_id=refund.tenant_id,
        kind="refund",
        idempotency_key=f"refund:{refund.refund_id}",
        request_hash=request_fingerprint({"account": refund.account_code, "quantity": refund.quantity}),
        # Refunded credits go back where purchased ones come from: the outside.
        movements=[Movement(refund.account_code, -refund.quantity), Movement(WORLD, refund.quantity)],
        actor_user_id=refund.requested_by,
        reference=f"refund:{refund.refund_id}",
        note=f"Refund of {refund.quantity:,} credits of invoice {refund.invoice_number}",
    )


def restore(failed: RefundFailed) -> PostingRequest:
    return PostingRequest(
        tenant_id=failed.tenant_id,
        kind="refund",
        idempotency_key=f"refund:{failed.refund_id}:restore",
        request_hash=request_fingerprint({"account": failed.account_code, "quantity": failed.quantity}),
        movements=[Movement(WORLD, -failed.quantity), Movement(failed.account_code, failed.quantity)],
        actor_user_id=failed.requested_by,
        reference=f"refund:{failed.refund_id}",
        note=f"Refund failed at the payment provider ({failed.reason}): credits restored",
    )
