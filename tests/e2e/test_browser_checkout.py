"""The hosted checkout and the confirmation as product pages (issue 17: bugs 2, 3, 9, 10 and "What to
build" 2), in Debian's Chromium at desktop and phone sizes: the app's header and the order named (whose
credits, who buys, quantity x unit price, GST, total with thousands separators), plain messages under the
field at fault, a busy Pay, a declined card that is not a dead end (the same checkout takes another card,
the purchase stays pending, every attempt is recorded, Back and reopening show the form), the
confirmation naming whose balance, the invoice named by its number, and no request answered 404."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from typing import Any

import aiohttp
import asyncpg
import pytest
from playwright.async_api import Browser, Page, Response, ViewportSize, expect

from gateway.web.pages import money, return_path
from tests.e2e.browser_helpers import DESKTOP, PHONE, browsing, fits_width, shot
from tests.e2e.conftest import Client, System

GOOD_CARD, DECLINED_CARD = "4242424242424242", "4000000000000002"
QUANTITY = 100_000  # a total in the thousands: the separators show
RETURN_TO = "/credits/logs"
BILLING = {"name": "Ben Carter", "email": "ben@acme.test"}
TIMES = "\u00d7"  # the multiplication sign of "100,000 credits x AUD 0.06"
DEVELOPER_WORDS = ("expected shape", "Input should be", "unable to parse")


async def own_account(client: Client) -> dict[str, Any]:
    _, me = await client.get("/api/v1/me")
    _, accounts = await client.get("/api/v1/accounts")
    [account] = [a for a in accounts if a["owner"] and a["owner"]["id"] == me["id"]]
    return account


async def start_purchase(client: Client, quantity: int = QUANTITY) -> dict[str, Any]:
    account = await own_account(client)
    status, created = await client.post(
        "/api/v1/purchases",
        {"account_id": account["id"], "quantity": quantity, "billing": BILLING},
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert status == 201, created
    return created


def aud(amount: str) -> str:
    """What the page must show, worked out here independently of the page's own formatting."""
    return f"AUD {Decimal(amount):,.2f}"


async def attempts(system: System, session_id: str) -> list[str]:
    """The test processor's record of every attempt at paying the session, oldest first."""
    conn = await asyncpg.connect(system.database_url("billing"))
    try:
        rows = await conn.fetch(
            "SELECT outcome FROM test_provider_charges WHERE session_id = $1 ORDER BY created_at, id", session_id
        )
    finally:
        await conn.close()
    return [r["outcome"] for r in rows]


async def fill_card(page: Page, number: str, month: str = "12", year: str = "2035", cvc: str = "123") -> None:
    await page.get_by_label("Card number").fill(number)
    await page.get_by_label("Expiry month").fill(month)
    await page.get_by_label("Expiry year").fill(year)
    await page.get_by_label("CVC").fill(cvc)


async def watch_pay_button(page: Page) -> None:
    """Note how Pay looks as the form is sent (after the page's own handler), kept across the navigation."""
    await page.evaluate("""() => document.getElementById("pay-form").addEventListener("submit", () => {
        const button = document.getElementById("pay-button");
        sessionStorage.setItem("pay-button", JSON.stringify([button.disabled, button.textContent]));
    })""")


async def pay_button_when_sent(page: Page) -> Any:
    return await page.evaluate("() => JSON.parse(sessionStorage.getItem('pay-button'))")


async def assert_card_row_lines_up(page: Page, phone: bool) -> None:
    """Bug 10: no label of the expiry/CVC row wraps, and the three boxes line up."""
    for name in ("Expiry month", "Expiry year", "CVC"):
        label = page.locator("label", has_text=re.compile(f"^{name}$"))
        box = await label.bounding_box()
        assert box and box["height"] < 30, f"{name!r} wraps onto a second line: {box}"
    month, year, cvc = [await page.locator(f"#{f}").bounding_box() for f in ("exp_month", "exp_year", "cvc")]
    assert month and year and cvc
    assert abs(month["y"] - year["y"]) < 1 and abs(month["height"] - cvc["height"]) < 1
    if phone:  # two columns: CVC starts the next row, under the month
        assert abs(cvc["x"] - month["x"]) < 1 and cvc["y"] > month["y"] + month["height"]
    else:
        assert abs(cvc["y"] - month["y"]) < 1


@pytest.mark.parametrize(("size", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
async def test_a_declined_card_is_tried_again_on_the_same_checkout_and_the_pages_read_as_the_product(
    system: System, browser: Browser, sign_in: Any, size: str, viewport: ViewportSize
) -> None:
    ben = await sign_in("ben@acme.test")
    created = await start_purchase(ben)
    quote, session_id = created["quote"], created["checkout_url"].rsplit("/", 1)[1]
    checkout_url = f"{system.gateway_url}/checkout/{session_id}?return={RETURN_TO}"

    async with browsing(browser, system.gateway_url, viewport) as (context, page, _):
        not_found: list[str] = []

        def note_missing(response: Response) -> None:
            if response.status == 404:
                not_found.append(response.url)

        context.on("response", note_missing)
        await page.goto(checkout_url)

        # The form as a product page: the app's header, the order named, its lines, a small test badge.
        await expect(page.get_by_role("heading", name="Pay for SMS credits")).to_be_visible()
        await expect(page.locator("header .brand")).to_have_text("SMS Credits")
        await expect(page.locator("header .brand img.logo")).to_be_visible()
        await expect(page.locator("#credits-for")).to_contain_text("Ben Carter")
        await expect(page.locator("#credits-for")).to_contain_text("Acme Realty")
        await expect(page.locator("#bought-by")).to_have_text("Ben Carter")
        lines = page.locator("table.lines")
        await expect(lines).to_contain_text(f"{QUANTITY:,} credits {TIMES} AUD")
        await expect(lines).to_contain_text(f"GST (10%) {aud(quote['tax'])}")
        await expect(page.locator("#order-total")).to_have_text(aud(quote["total"]))
        assert "," in aud(quote["total"])  # the point of the quantity: a thousands separator to show
        await expect(page.get_by_role("button", name=f"Pay {aud(quote['total'])}")).to_be_visible()
        badge = page.locator(".test-badge")
        await expect(badge).to_have_text("Test payment provider")
        assert float(await badge.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")) < 14
        await expect(page.get_by_role("link", name="Cancel", exact=True)).to_have_attribute("href", RETURN_TO)
        await assert_card_row_lines_up(page, phone=viewport is PHONE)
        assert await fits_width(page)
        await shot(page, f"checkout-form-{size}")

        # Bug 2: Pay with empty fields: plain words under each field at fault, no developer message.
        await page.get_by_label("Name on card").fill("")
        await page.get_by_role("button", name=re.compile("^Pay ")).click()
        expected = {
            "name": "Enter the name on the card",
            "card_number": "Enter the card number",
            "exp_month": "Enter the expiry month (1-12)",
            "exp_year": "Enter the expiry year (for example 2030)",
            "cvc": "Enter the security code (CVC)",
        }
        for field, message in expected.items():
            await expect(page.locator(f"#{field}-error")).to_have_text(message)
            await expect(page.locator(f"#{field}")).to_have_attribute("aria-invalid", "true")
            # Under its own field, not below the row.
            field_box, error_box = await page.locator(f"#{field}").bounding_box(), \
                await page.locator(f"#{field}-error").bounding_box()
            assert field_box and error_box and abs(error_box["x"] - field_box["x"]) < 1
        await expect(page.locator("#name")).to_be_focused()
        body = await page.locator("main").inner_text()
        assert not any(words in body for words in DEVELOPER_WORDS), body
        await shot(page, f"checkout-errors-{size}")
        # A message goes once its field is fixed.
        await page.get_by_label("Name on card").fill("Ben Carter")
        await expect(page.locator("#name-error")).to_have_count(0)

        # Bug 3: a declined card is said plainly, with another card offered on the same checkout.
        await fill_card(page, DECLINED_CARD)
        await watch_pay_button(page)
        await page.get_by_role("button", name=re.compile("^Pay ")).click()
        await expect(page.get_by_role("heading", name="Your card was declined")).to_be_visible()
        await expect(page.locator("#declined")).to_contain_text("Your bank declined the card.")
        await expect(page.locator("#declined")).to_contain_text("your purchase is still open")
        assert await pay_button_when_sent(page) == [True, "Paying…"]  # busy, and no second press
        await expect(page.locator("header .brand")).to_be_visible()
        await expect(page.locator("#credits-for")).to_contain_text("Ben Carter")
        await expect(page.get_by_label("Name on card")).to_have_value("Ben Carter")
        await expect(page.get_by_label("Card number")).to_have_value("")
        await expect(page.get_by_role("link", name="Cancel and go back")).to_have_attribute("href", RETURN_TO)
        assert await fits_width(page)
        await shot(page, f"checkout-declined-{size}")

        _, pending = await ben.get(f"/api/v1/purchases/{created['id']}")
        assert (pending["status"], pending["failure_reason"], pending["invoice_number"]) == (
            "pending", "card_declined", None)
        assert await attempts(system, session_id) == ["declined"]

        # Back, or opening the checkout again, shows the form, not the decline.
        await page.go_back()
        await expect(page.get_by_role("heading", name="Pay for SMS credits")).to_be_visible()
        await expect(page.locator("#declined")).to_have_count(0)
        await page.go_forward()
        await expect(page.get_by_role("heading", name="Your card was declined")).to_be_visible()
        await page.goto(checkout_url)
        await expect(page.get_by_role("heading", name="Pay for SMS credits")).to_be_visible()
        await expect(page.locator("#declined")).to_have_count(0)
        await page.go_back()  # the declined page again, as the buyer left it
        await expect(page.get_by_role("heading", name="Your card was declined")).to_be_visible()

        # Try another card: it pays, on the same checkout and the same purchase.
        await page.get_by_role("link", name="Try another card").click()
        await expect(page.get_by_label("Card number")).to_be_focused()
        await fill_card(page, GOOD_CARD)
        await page.get_by_role("button", name=re.compile("^Pay ")).click()
        await page.wait_for_url(re.compile(r"/purchases/.+/confirmation"))
        await shot(page, f"checkout-retry-paid-{size}")
        await expect(page.get_by_role("heading", name="Thank you: your credits are ready")).to_be_visible()
        assert await attempts(system, session_id) == ["declined", "succeeded"]

        # The confirmation says whose balance, and the invoice downloads under its number.
        balance = (await own_account(ben))["available"]
        await expect(page.locator("#balance-line")).to_have_text(f"Ben Carter's available balance: {balance:,} credits")
        await expect(page.get_by_role("link", name="Back to SMS Credits").first).to_have_attribute("href", RETURN_TO)
        assert await fits_width(page)
        await shot(page, f"confirmation-{size}")
        _, paid = await ben.get(f"/api/v1/purchases/{created['id']}")
        assert paid["status"] == "credited" and paid["invoice_number"]
        async with page.expect_download() as download_info:
            await page.get_by_role("link", name="Download Tax Invoice / Receipt").click()
        assert (await download_info.value).suggested_filename == f"{paid['invoice_number']}.pdf"

        # Bug 9 (part): no page asked for anything missing (the favicon included).
        icon = await page.evaluate("() => document.querySelector('link[rel=icon]').href")
        assert icon.endswith("/static/favicon.svg")
        assert not not_found, f"requests answered 404: {not_found}"


async def test_without_the_page_script_empty_fields_still_get_plain_messages_and_json_keeps_its_problems(
    system: System, sign_in: Any, http: aiohttp.ClientSession
) -> None:
    created = await start_purchase(await sign_in("dan@acme.test"), 1000)
    url = created["checkout_url"]
    async with http.post(url, data={"name": "", "card_number": "", "exp_month": "", "exp_year": "", "cvc": ""}
                         ) as response:
        html = await response.text()
        assert response.status == 422 and response.content_type == "text/html"
    for message in ("Enter the name on the card", "Enter the card number", "Enter the expiry month (1-12)",
                    "Enter the expiry year (for example 2030)"):
        assert message in html
    assert not any(words in html for words in DEVELOPER_WORDS)
    # A card the processor refuses: its plain per-field words, under the field.
    async with http.post(url, data={"name": "Dan", "card_number": "4242424242424241", "exp_month": "13",
                                    "exp_year": "2035", "cvc": "12"}) as response:
        html = await response.text()
        assert response.status == 422
    assert 'id="exp_month-error">Enter the expiry month (1-12)' in html
    async with http.post(url, data={"name": "Dan", "card_number": "4242424242424241", "exp_month": "12",
                                    "exp_year": "2035", "cvc": "12"}) as response:
        html = await response.text()
    assert 'id="card_number-error">Check the card number' in html and 'id="cvc-error">Enter the 3-digit' in html
    # The JSON variant answers problem+json, as before.
    async with http.post(url, json={"card_number": "", "exp_month": "x"}) as response:
        assert response.status == 400 and response.content_type == "application/problem+json"
        problem = await response.json()
    assert {e["field"] for e in problem["errors"]} >= {"exp_month"}
    # A declined card through JSON: the purchase answered, still pending, the decline recorded on it.
    card = {"card_number": DECLINED_CARD, "exp_month": 12, "exp_year": 2035, "cvc": "123", "name": "Dan"}
    async with http.post(url, json=card) as response:
        assert response.status == 200
        answered = await response.json()
    assert (answered["status"], answered["failure_reason"]) == ("pending", "card_declined")
    # Its confirmation link leads back to the open checkout, not to a page waiting for ever.
    session_id = url.rsplit("/", 1)[1]
    confirmation = f"{system.gateway_url}/purchases/{created['id']}/confirmation?session={session_id}"
    async with http.get(confirmation, allow_redirects=False) as response:
        assert response.status == 303 and response.headers["Location"].endswith(f"/checkout/{session_id}")


def test_the_return_address_stays_on_this_site_and_amounts_read_as_money() -> None:
    assert return_path("/credits/logs?account=1") == "/credits/logs?account=1"
    for foreign in ("//evil.test/x", "https://evil.test", "/\\evil.test", "credits", "", None, "/a\nb"):
        assert return_path(foreign) == "/credits"
    assert (money("6000.00"), money("1234567.50"), money("0.0800"), money("0.0750")) == (
        "6,000.00", "1,234,567.50", "0.08", "0.075")
