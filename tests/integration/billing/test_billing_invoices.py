from __future__ import annotations

import io

import pypdf

from tests.integration.billing.harness import Billing, Buyer, invoice_number


async def _invoice_text(billing: Billing, purchase_id: str, buyer: Buyer | None = None) -> tuple[int, str]:
    response = await billing.client.get(f"/purchases/{purchase_id}/invoice.pdf", headers=billing.headers(buyer))
    if response.status != 200:
        return response.status, ""
    assert response.content_type == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(await response.read()))
    return 200, "\n".join(page.extract_text() for page in reader.pages)


async def test_the_tax_invoice_shows_seller_buyer_number_gst_and_the_quoted_total(billing: Billing) -> None:
    purchase = await billing.purchase(quantity=10000)
    await billing.pay(purchase)

    status, text = await _invoice_text(billing, purchase["id"])

    assert status == 200
    for expected in (
        "Tax Invoice", invoice_number(billing.buyer, 1), "SMS Credits Pty Ltd", "ABN 51 824 753 556", "Jo Citizen",
        "Citizen Realty", "53 004 085 616", "jo@example.com.au", "10,000", "0.0700", "$700.00",
        "GST (10%)", "$70.00", "$770.00", "Paid by Visa ending 4242", purchase["id"],
    ):
        assert expected in text, expected


async def test_there_is_no_invoice_before_payment_nor_for_another_tenant(billing: Billing) -> None:
    purchase = await billing.purchase()
    assert (await _invoice_text(billing, purchase["id"]))[0] == 404

    await billing.pay(purchase)

    assert (await _invoice_text(billing, purchase["id"], Buyer()))[0] == 404
    assert (await _invoice_text(billing, purchase["id"]))[0] == 200
