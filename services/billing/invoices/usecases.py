"""Tax documents as a buyer downloads them: a paid purchase's invoice, a refund's adjustment note."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg

from services.billing.invoices import pdf
from services.billing.invoices.domain import AdjustmentNoteNotReady, InvoiceNotReady
from services.billing.purchases import store as purchase_store
from services.billing.purchases import usecases as purchases
from services.billing.purchases.domain import Purchase
from services.billing.refunds import store as refund_store
from services.billing.refunds.domain import Refund, RefundNotFound


async def invoice_pdf(
    pool: asyncpg.Pool, tenant_id: uuid.UUID, purchase_id: uuid.UUID, timezone: str
) -> tuple[Purchase, bytes]:
    purchase = await purchases.purchase_of(pool, tenant_id, purchase_id)
    if not purchase.is_paid:
        raise InvoiceNotReady()
    # Rendering is CPU-bound (layout, fonts): off the event loop.
    document = await asyncio.to_thread(pdf.invoice_pdf, purchase, timezone)
    return purchase, document


async def adjustment_note_pdf(
    pool: asyncpg.Pool, tenant_id: uuid.UUID, purchase_id: uuid.UUID, refund_id: uuid.UUID, timezone: str
) -> tuple[Refund, bytes]:
    async with pool.acquire() as conn:
        refund = await refund_store.get_refund(conn, tenant_id, purchase_id, refund_id)
        purchase = await purchase_store.get_purchase(conn, tenant_id, purchase_id)
    if refund is None or purchase is None:
        raise RefundNotFound()
    if refund.status != "refunded":
        raise AdjustmentNoteNotReady()
    document = await asyncio.to_thread(pdf.adjustment_note_pdf, purchase, refund, timezone)
    return refund, document
