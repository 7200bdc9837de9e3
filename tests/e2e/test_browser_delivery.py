"""The Send SMS page prices each destination as the message is written and shows each recipient's
delivery, with the credits an undelivered one gave back: a browser on a desktop and on a phone."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, ViewportSize, expect

from tests.e2e.browser_helpers import DESKTOP, PHONE, browsing, fits_width, shot, sign_in_page
from tests.e2e.conftest import System
from tests.e2e.test_send_sms import fund
from tests.support import UNDELIVERABLE, mobile_number


@pytest.mark.parametrize(("viewport", "size"), [(DESKTOP, "desktop"), (PHONE, "phone")], ids=["desktop", "phone"])
async def test_the_counter_prices_each_destination_and_each_recipient_shows_its_delivery(
    system: System, browser: Browser, sign_in: Any, http: aiohttp.ClientSession, viewport: ViewportSize, size: str,
) -> None:
    ben_api = await sign_in("ben@acme.test")
    await fund(ben_api, http, 100)
    home, away, lost = mobile_number(), "+6421" + mobile_number()[-7:], mobile_number(UNDELIVERABLE)
    async with browsing(browser, system.gateway_url, viewport) as (_, page, _watch):
        await sign_in_page(page, "ben@acme.test")
        await page.locator("#user-button").click()
        await page.get_by_role("menuitem", name="Send SMS").click()
        form = page.get_by_role("form", name="Send SMS")
        await form.get_by_label("To", exact=True).fill(f"{home}, {away}, {lost}")
        await form.get_by_label("Message", exact=True).fill("Open home Saturday 10am")
        counter = page.locator("#send-counter")
        await expect(counter.locator("[data-credits]")).to_have_text("4 credits")  # 1 + 2 (New Zealand) + 1
        await expect(counter.locator("[data-destinations]")).to_contain_text("New Zealand: 2 credits a segment")
        await shot(page, f"send-destinations-{size}")

        await form.get_by_role("button", name="Send", exact=True).click()
        await expect(page.get_by_role("heading", name="Message sent")).to_be_visible()
        rows = page.locator("#send-recipients tr")
        lost_row = rows.filter(has_text=lost)
        await expect(lost_row.locator("[data-delivery]")).to_have_text("Undeliverable", timeout=20_000)
        await expect(lost_row.locator("[data-credits-returned]")).to_contain_text("1 credit given back",
                                                                                  timeout=20_000)
        await expect(rows.filter(has_text=home).locator("[data-delivery]")).to_have_text("Delivered")
        await expect(rows.filter(has_text=away).locator("[data-credits-returned]")).to_have_text("2")
        await shot(page, f"send-delivery-{size}")
        assert await fits_width(page)
