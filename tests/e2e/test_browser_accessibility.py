"""Every page checked by axe-core (issue 17, "What to build" 11): sign-in, the app (home, the Manage SMS
Credits box and its purchase and transfer panels, Send SMS, the log), the hosted checkout and its
confirmation, the HTML 404 page, set-password, the API and event documentation, and the operators' admin
page, at desktop and phone sizes. No serious or critical violation may be found; each page leaves a
screenshot `a11y-<page>-<size>`. Input borders are measured against their background for WCAG's 3:1
contrast for the boundaries of controls, which axe's colour rule (text only) does not check."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from typing import Any

import pytest
from playwright.async_api import Browser, Page, ViewportSize, expect

from tests.e2e.browser_helpers import (
    DESKTOP,
    PHONE,
    axe_check,
    browsing,
    shot,
    sign_in_page,
    sign_out,
)
from tests.e2e.conftest import Client, System

GOOD_CARD = "4242424242424242"
QUANTITY = 100_000  # a total in the thousands, so that the separators show
MIN_BORDER_CONTRAST = 3.0

# The colours of a control's border and of what is behind it, as the browser computed them.
BORDER_COLOURS = """(selector) => [...document.querySelectorAll(selector)]
    .filter(e => e.offsetParent !== null)
    .map(e => {
        let back = e.parentElement, colour = "rgba(0, 0, 0, 0)";
        while (back && /rgba\\(.*, 0\\)|transparent/.test(colour)) {
            colour = getComputedStyle(back).backgroundColor;
            back = back.parentElement;
        }
        if (/rgba\\(.*, 0\\)|transparent/.test(colour)) colour = "rgb(255, 255, 255)";
        return {id: e.id || e.name || e.tagName, border: getComputedStyle(e).borderTopColor, behind: colour};
    })"""


def _luminance(colour: str) -> float:
    """WCAG's relative luminance of an `rgb(r, g, b)` colour."""
    red, green, blue = (int(c) / 255 for c in re.findall(r"\d+", colour)[:3])

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)


def contrast(one: str, other: str) -> float:
    light, dark = sorted((_luminance(one), _luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_the_contrast_calculation_matches_wcags_known_values() -> None:
    assert contrast("rgb(0, 0, 0)", "rgb(255, 255, 255)") == pytest.approx(21.0)
    assert contrast("rgb(216, 222, 230)", "rgb(255, 255, 255)") < 1.5  # the old #d8dee6: far too faint
    assert contrast("rgb(118, 118, 118)", "rgb(255, 255, 255)") == pytest.approx(4.54, abs=0.01)


async def assert_input_borders_contrast(page: Page, where: str) -> None:
    controls = await page.evaluate(BORDER_COLOURS, "input:not([type=radio]):not([type=checkbox]):not([type=hidden]),"
                                                   " select, textarea")
    assert controls, f"no visible controls on {where}"
    faint = [(c["id"], c["border"], c["behind"], round(contrast(c["border"], c["behind"]), 2)) for c in controls
             if contrast(c["border"], c["behind"]) < MIN_BORDER_CONTRAST]
    assert not faint, f"input borders below {MIN_BORDER_CONTRAST}:1 on {where}: {faint}"


async def check(page: Page, name: str, size: str) -> None:
    await shot(page, f"a11y-{name}-{size}")
    findings = await axe_check(page, f"{name} ({size})")
    # The moderate and minor findings that remain, for the reader of the test's output (pytest -s).
    print(f"axe {name}-{size}:", sorted({f"{v['id']} ({v['impact']})" for v in findings}) or "nothing")


async def own_account(client: Client) -> dict[str, Any]:
    _, me = await client.get("/api/v1/me")
    _, accounts = await client.get("/api/v1/accounts")
    [account] = [a for a in accounts if a["owner"] and a["owner"]["id"] == me["id"]]
    return account


@pytest.mark.parametrize(("size", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
async def test_every_page_has_no_serious_or_critical_accessibility_fault(
    system: System, browser: Browser, sign_in: Any, size: str, viewport: ViewportSize
) -> None:
    ben = await sign_in("ben@acme.test")
    account = await own_account(ben)
    status, created = await ben.post(
        "/api/v1/purchases",
        {"account_id": account["id"], "quantity": 1000, "billing": {"name": "Ben Carter", "email": "ben@acme.test"}},
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert status == 201, created

    async with browsing(browser, system.gateway_url, viewport) as (_, page, _watch):
        # Pages anyone may open.
        await page.goto("/signin")
        await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        await assert_input_borders_contrast(page, "sign-in")
        await check(page, "signin", size)

        response = await page.goto("/no-such-page")
        assert response and response.status == 404
        await expect(page.locator("h1")).to_be_visible()
        await check(page, "not-found", size)

        await page.goto("/set-password?token=not-a-real-token")
        await expect(page.get_by_role("heading", name="Set your password")).to_be_visible()
        await check(page, "set-password", size)

        await page.goto("/api/events")
        await expect(page.locator("h1")).to_be_visible()
        await check(page, "api-events", size)

        await page.goto("/api/docs")
        await expect(page.locator(".swagger-ui .info")).to_be_visible(timeout=20_000)
        await check(page, "api-docs", size)

        # The hosted checkout and, once paid, its confirmation.
        await page.goto(created["checkout_url"])
        await expect(page.get_by_role("heading", name="Pay for SMS credits")).to_be_visible()
        await assert_input_borders_contrast(page, "checkout")
        await check(page, "checkout", size)
        await page.get_by_role("button", name=re.compile("^Pay ")).click()  # nothing filled in: the messages
        await expect(page.locator("#card_number-error")).to_be_visible()
        await check(page, "checkout-errors", size)
        await page.get_by_label("Name on card").fill("Ben Carter")
        await page.get_by_label("Card number").fill(GOOD_CARD)
        await page.get_by_label("Expiry month").fill("12")
        await page.get_by_label("Expiry year").fill("2035")
        await page.get_by_label("CVC").fill("123")
        await page.get_by_role("button", name=re.compile("^Pay ")).click()
        await page.wait_for_url(re.compile(r"/purchases/.+/confirmation"))
        # While the payment is applied the page waits without reloading itself on a timer (axe's critical
        # meta-refresh rule), then shows the credited purchase on its own.
        assert await page.locator('meta[http-equiv="refresh"]').count() == 0
        await expect(page.get_by_role("heading", name="Thank you: your credits are ready")).to_be_visible()
        await check(page, "confirmation", size)

        # The app, as Ava (a master: every panel is hers to open).
        await sign_in_page(page, "master@acme.test")
        await expect(page.get_by_role("heading", name=re.compile("^Welcome"))).to_be_visible()
        await check(page, "home", size)

        await page.goto("/credits")
        box = page.get_by_role("dialog", name="Manage SMS Credits")
        await expect(box.locator("table.accounts").first).to_be_visible()
        await check(page, "credits-box", size)

        await page.goto("/credits/purchase")
        form = box.get_by_role("form", name="Purchase SMS Credits")
        await expect(form).to_be_visible()
        await form.get_by_label("Quantity (credits)").fill(str(QUANTITY))
        # The total with thousands separators, worked out here from the API's quote ("AUD 6,600.00").
        _, quote = await ben.get(f"/api/v1/quotes?quantity={QUANTITY}")
        total = f"{quote['currency']} {Decimal(quote['total']):,.2f}"
        assert "," in total
        await expect(form.locator("#purchase-quote dd.total-line")).to_have_text(total)
        await assert_input_borders_contrast(page, "purchase panel")
        await check(page, "purchase", size)

        await page.goto("/credits/transfer")
        transfer = box.locator("#panel-transfer")
        await expect(transfer).to_be_visible()
        await assert_input_borders_contrast(page, "transfer panel")
        await check(page, "transfer", size)

        await page.goto("/send")
        await expect(page.get_by_role("heading", name="Send SMS")).to_be_visible()
        await assert_input_borders_contrast(page, "send SMS")
        await check(page, "send", size)

        await page.goto("/credits/logs")
        await expect(page.get_by_role("heading", name="Last 30 Days Logs")).to_be_visible()
        await expect(page.locator("#view-logs table").first).to_be_visible()
        await check(page, "logs", size)

        # The operators' admin page, as Olive.
        await sign_out(page)
        await sign_in_page(page, "ops@platform.test")
        await page.goto("/admin/credit-mode-requests")
        await expect(page.get_by_role("heading", name="Credit mode requests")).to_be_visible()
        await check(page, "admin-requests", size)
