"""The tax documents as PDF: a purchase's tax invoice, a refund's adjustment note."""

from __future__ import annotations

from aiohttp import web

from common.runtime import DB
from common.web import identity_of, path_uuid
from services.billing.invoices import usecases
from services.billing.invoices.domain import pdf_filename
from services.billing.purchases.domain import PurchaseNotFound, tenant_of
from services.billing.refunds.domain import RefundNotFound
from services.billing.resources import SETTINGS


def _pdf(document: bytes, number: str | None) -> web.Response:
    """A download named by the document's number (INV-ACME-000012.pdf), as people file them."""
    filename = pdf_filename(number or "document")
    return web.Response(
        body=document, content_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def get_invoice(request: web.Request) -> web.Response:
    tenant_id = tenant_of(identity_of(request))
    purchase_id = path_uuid(request, "purchase_id", PurchaseNotFound)
    timezone = request.app[SETTINGS].invoice_timezone
    purchase, document = await usecases.invoice_pdf(request.app[DB], tenant_id, purchase_id, timezone)
    return _pdf(document, purchase.invoice_number)


async def get_adjustment_note(request: web.Request) -> web.Response:
    tenant_id = tenant_of(identity_of(request))
    timezone = request.app[SETTINGS].invoice_timezone
    refund, document = await usecases.adjustment_note_pdf(
        request.app[DB], tenant_id, path_uuid(request, "purchase_id", PurchaseNotFound),
        path_uuid(request, "refund_id", RefundNotFound), timezone,
    )
    return _pdf(document, refund.adjustment_note_number)


routes = [
    web.get("/purchases/{purchase_id}/invoice.pdf", get_invoice),
    web.get("/purchases/{purchase_id}/refunds/{refund_id}/adjustment-note.pdf", get_adjustment_note),
]
