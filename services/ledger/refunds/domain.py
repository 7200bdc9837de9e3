"""The transactions of a refund's steps. The idempotency keys are the refund's (`refund:<id>`,
`refund:<id>:restore`), so even a second event for the same refund moves no credit twice."""

from __future__ import annotations

import uuid

from common.accounts import WORLD
from common.contracts.events import RefundFailed, RefundRequested
from common.idempotency import request_fingerprint
from services.ledger.lots.rules import Lot, LotRules, NewLot
from services.ledger.postings.domain import Movement, PostingRequest


def purchase_reference(purchase_id: uuid.UUID) -> str:
    """The reference a purchase's credits carry, in its transaction and on its lot."""
    return f"purchase:{purchase_id}"


def debit(refund: RefundRequested, purchase_lots: frozenset[uuid.UUID]) -> PostingRequest:
    """Only the purchase's own credits may be refunded, and only those still unspent and not lapsed: never
    another purchase's, never promotional ones (`purchase_lots`: the lots the purchase started)."""
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
        lots=LotRules(only_lots=purchase_lots),
    )


def restore(failed: RefundFailed, taken: list[tuple[Lot, int]]) -> PostingRequest:
    """The credits go back into the very lots the debit took them from (`taken`), expiry and all."""
    return PostingRequest(
        tenant_id=failed.tenant_id,
        kind="refund",
        idempotency_key=f"refund:{failed.refund_id}:restore",
        request_hash=request_fingerprint({"account": failed.account_code, "quantity": failed.quantity}),
        movements=[Movement(WORLD, -failed.quantity), Movement(failed.account_code, failed.quantity)],
        actor_user_id=failed.requested_by,
        reference=f"refund:{failed.refund_id}",
        note=f"Refund failed at the payment provider ({failed.reason}): credits restored",
        # A debit from before lots existed took from no lot: its credits come back as a lot of their own.
        lots=LotRules(refill=tuple(taken)) if taken else LotRules(
            new_lot=NewLot("compensation", True, None, f"refund:{failed.refund_id}")),
    )
