"""Invoices right for the tax office (issue 17, bug 6 and "What to build" 5): every tenant's invoice numbers
carry its own prefix, so two customers of the one supplier ABN never share a number; documents download
under their number; a made-up ABN on the billing details is refused with a plain message."""

from __future__ import annotations

import re
import uuid
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, ViewportSize, expect

from tests.e2e.browser_helpers import DESKTOP, PHONE, browsing, choose_action, open_credits_box, shot, sign_in_page
from tests.e2e.conftest import Client, System

SIZES = pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
GOOD_CARD = "4242424242424242"
ABN_MESSAGE = "This ABN is not valid (check the digits)"


def size(viewport: ViewportSize) -> str:
    return "desktop" if viewport == DESKTOP else "phone"


async def system_credits(client: Client) -> dict[str, Any]:
    _, accounts = await client.get("/api/v1/accounts")
    [account] = [a for a in accounts if a["kind"] == "system"]
    return dict(account)


async def paid_purchase(client: Client, http: aiohttp.ClientSession, billing: dict[str, str]) -> dict[str, Any]:
    account = await system_credits(client)
    status, created = await client.post(
        "/api/v1/purchases", {"account_id": account["id"], "quantity": 100, "billing": billing},
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert status == 201, created
    card = {"card_number": GOOD_CARD, "exp_month": 12, "exp_year": 2035, "cvc": "123", "name": billing["name"]}
    async with http.post(created["checkout_url"], json=card) as response:
        assert response.status == 200, await response.text()
    status, purchase = await client.get(f"/api/v1/purchases/{created['id']}")
    assert status == 200 and purchase["invoice_number"], purchase
    return dict(purchase)


async def test_acme_and_globex_never_share_an_invoice_number_and_each_pdf_is_named_by_its_number(
    sign_in: Any, http: aiohttp.ClientSession
) -> None:
    ava, gail = await sign_in("master@acme.test"), await sign_in("master@globex.test")

    acme = await paid_purchase(ava, http, {"name": "Ava Nguyen", "email": "master@acme.test"})
    globex = await paid_purchase(gail, http, {"name": "Gail Stone", "email": "master@globex.test"})

    # Before: both were INV-000001 (and the next both INV-000002), from the one supplier ABN.
    assert acme["invoice_number"] != globex["invoice_number"]
    assert re.fullmatch(r"INV-ACME-\d{6}", acme["invoice_number"]), acme["invoice_number"]
    assert re.fullmatch(r"INV-GLOBEX-\d{6}", globex["invoice_number"]), globex["invoice_number"]
    for client, purchase in ((ava, acme), (gail, globex)):
        async with http.get(f"{client.base}/api/v1/purchases/{purchase['id']}/invoice.pdf",
                            headers={"Authorization": f"Bearer {client.token}"}) as response:
            assert response.status == 200 and response.content_type == "application/pdf"
            disposition = response.headers["Content-Disposition"]
            assert disposition == f'attachment; filename="{purchase["invoice_number"]}.pdf"'


@SIZES
async def test_a_made_up_abn_is_refused_with_a_plain_message_and_a_real_one_goes_to_payment(
    system: System, browser: Browser, viewport: ViewportSize
) -> None:
    async with browsing(browser, system.gateway_url, viewport) as (_, page, _watch):
        await sign_in_page(page, "master@acme.test")
        box = await open_credits_box(page)
        await choose_action(box, "System Credits", "Purchase SMS Credits")
        form = box.get_by_role("form", name="Purchase SMS Credits")
        await form.get_by_label("Quantity (credits)").fill("100")
        await form.get_by_label(re.compile("^ABN")).fill("12 345 678 901")
        await form.get_by_label(re.compile("^Address")).fill("Level 3\n2 George St\nSydney NSW 2000")

        await form.get_by_role("button", name="Proceed").click()

        # Before: accepted, and printed on a tax invoice.
        await expect(form.get_by_text(ABN_MESSAGE)).to_be_visible()
        await expect(page).not_to_have_url(re.compile("/checkout/"))
        await shot(page, f"invoices-abn-refused-{size(viewport)}")

        await form.get_by_label(re.compile("^ABN")).fill("51 824 753 556")
        await form.get_by_role("button", name="Proceed").click()
        await expect(page).to_have_url(re.compile("/checkout/"))
        await shot(page, f"invoices-abn-accepted-checkout-{size(viewport)}")
