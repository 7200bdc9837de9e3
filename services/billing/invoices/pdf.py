"""Tax documents as PDF: an HTML template (in the service's `templates/`) filled from the document's
context and rendered by WeasyPrint. Rendering is CPU-bound: callers run it off the event loop."""

from __future__ import annotations

import warnings
from pathlib import Path

import jinja2

from services.billing.invoices.domain import invoice_context, note_context
from services.billing.purchases.domain import Purchase
from services.billing.refunds.domain import Refund

with warnings.catch_warnings():
    # WeasyPrint announces a missing optional system library (HarfBuzz subset, which only makes the
    # file smaller) as a deprecation; tests run with warnings as errors and must not fail on it.
    warnings.filterwarnings("ignore", message="HarfBuzz-Subset", category=DeprecationWarning)
    import weasyprint

TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).resolve().parents[1] / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


def render_document(html: str) -> bytes:
    pdf: bytes = weasyprint.HTML(string=html).write_pdf()
    return pdf


def invoice_html(purchase: Purchase, timezone: str) -> str:
    return TEMPLATES.get_template("invoice.html").render(invoice_context(purchase, timezone))


def invoice_pdf(purchase: Purchase, timezone: str) -> bytes:
    return render_document(invoice_html(purchase, timezone))


def adjustment_note_html(purchase: Purchase, refund: Refund, timezone: str) -> str:
    return TEMPLATES.get_template("adjustment_note.html").render(note_context(purchase, refund, timezone))


def adjustment_note_pdf(purchase: Purchase, refund: Refund, timezone: str) -> bytes:
    return render_document(adjustment_note_html(purchase, refund, timezone))
