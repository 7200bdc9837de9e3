"""The purchase panel and the Manage SMS Credits box explain themselves (issue 17), in a real browser against
the whole running system, on a desktop and at phone width: Held and Available are explained beside the
balances; "Purchase for" says why these people are listed, whose account each choice is and its available
balance where the buyer may see it; one account in all is named in plain text rather than offered as a lone
radio; and Proceed says it is opening the checkout while the purchase is created, and comes back on an error."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest
from playwright.async_api import Browser, Locator, Page, Route, ViewportSize, expect

from tests.e2e.browser_helpers import (
    DESKTOP,
    PHONE,
    axe_check,
    browsing,
    choose_action,
    fits_width,
    open_credits_box,
    shot,
    sign_in_page,
    sign_out,
)
from tests.e2e.conftest import Client, System

SIZES = pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
HELD_AND_AVAILABLE = ("Held: reserved for SMS being sent; released or spent when they are. "
                      "Available: what you can spend or move now.")


def size(viewport: ViewportSize) -> str:
    return "phone" if viewport is PHONE else "desktop"


def grouped(n: int) -> str:
    return f"{n:,}"


async def own_available(client: Client) -> int:
    _, me = await client.get("/api/v1/me")
    _, accounts = await client.get("/api/v1/accounts")
    [account] = [a for a in accounts if a["owner"] and a["owner"]["id"] == me["id"]]
    return int(account["available"])


async def visible_radios(form: Locator) -> int:
    return sum([await radio.is_visible() for radio in await form.get_by_role("radio").all()])


async def purchase_panel(page: Page, account: str) -> Locator:
    box = await open_credits_box(page)
    await choose_action(box, account, "Purchase SMS Credits")
    form = box.get_by_role("form", name="Purchase SMS Credits")
    await expect(form).to_be_visible()
    return form


@SIZES
async def test_the_box_and_the_purchase_panel_explain_themselves_and_proceed_shows_it_is_busy(
    system: System, browser: Browser, sign_in: Any, viewport: ViewportSize
) -> None:
    ben_available = await own_available(await sign_in("ben@acme.test"))
    dan = await sign_in("dan@acme.test")
    _, dans_accounts = await dan.get("/api/v1/accounts")
    [cleo_account] = [a for a in dans_accounts if a["owner"] and a["owner"]["email"] == "cleo@acme.test"]

    async with browsing(browser, system.gateway_url, viewport) as (_, page, _watch):
        # Ben: Held and Available are explained in the box, visibly and on the columns' headers.
        await sign_in_page(page, "ben@acme.test")
        box = await open_credits_box(page)
        explained = box.locator("#accounts-explained")
        await expect(explained).to_be_visible()
        await expect(explained).to_have_text(HELD_AND_AVAILABLE)
        if viewport is DESKTOP:  # at phone width the table's rows are stacked and its header row is hidden
            await expect(box.get_by_role("columnheader", name="Held")).to_have_accessible_description(
                HELD_AND_AVAILABLE)
            await expect(box.get_by_role("columnheader", name="Available")).to_have_accessible_description(
                HELD_AND_AVAILABLE)
        assert await fits_width(page)
        await shot(page, f"credits-box-explained-{size(viewport)}")

        # Ben buys for himself or Cleo (his team): no lone radio, why they are listed, whose account each is.
        await choose_action(box, "Ben Carter", "Purchase SMS Credits")
        form = box.get_by_role("form", name="Purchase SMS Credits")
        await expect(form.locator("#purchase-for-why")).to_have_text(
            "You can buy credits for yourself and for people in your team (Sales).")
        # The rules of buying, before a digit is typed (they used to appear only as errors).
        await expect(form.locator("#purchase-prices")).to_have_text(
            "Buy 100 to 1,000,000 credits. Per credit: AUD 0.0800; from 10,000: AUD 0.0700; from 50,000: AUD 0.0600; "
            "from 200,000: AUD 0.0500. GST 10% is added.")
        await expect(form.get_by_label("Quantity (credits)")).to_have_accessible_description(
            re.compile(r"^Buy 100 to 1,000,000 credits\."))
        assert await visible_radios(form) == 0
        people = form.get_by_label("User", exact=True)
        await expect(people).to_be_visible()
        await expect(people.locator("option")).to_have_text([
            f"Ben Carter (your account · {grouped(ben_available)} credits available)",
            "Cleo Park (Cleo Park's account)",
        ])
        await expect(people).to_have_accessible_description(
            re.compile(rf"^Your account: {re.escape(grouped(ben_available))} credits? available\.$"))
        # Cleo's balance is hers and her managers' to see (permissions.may_manage): the panel says so.
        await people.select_option(label="Cleo Park (Cleo Park's account)")
        await expect(form.locator("#purchase-user-detail")).to_have_text(
            "Cleo Park's account. Only Cleo Park and people who manage credits see its balance.")
        assert await fits_width(page)
        await shot(page, f"purchase-panel-ben-{size(viewport)}")

        # Proceed: busy (disabled, says so, aria-busy) while the purchase is created; back again on an error.
        await form.get_by_label("Quantity (credits)").fill("100")
        release = asyncio.Event()

        async def slow_failure(route: Route) -> None:
            await release.wait()
            await route.fulfill(status=503, content_type="application/problem+json", body=json.dumps({
                "type": "https://smscredits.example/problems/service-unavailable", "title": "Service unavailable",
                "status": 503, "detail": "Billing is not answering just now.",
            }))

        await page.route(re.compile(r"/api/v1/purchases$"), slow_failure)
        submit = form.locator("#purchase-submit")
        await submit.click()
        await expect(submit).to_have_text("Opening checkout…")
        await expect(submit).to_be_disabled()
        await expect(submit).to_have_attribute("aria-busy", "true")
        await shot(page, f"purchase-panel-ben-busy-{size(viewport)}")
        release.set()
        await expect(submit).to_have_text("Proceed")
        await expect(submit).to_be_enabled()
        await expect(submit).to_have_attribute("aria-busy", "false")
        await expect(form.locator('[data-error-for="form"]')).to_be_visible()
        await page.unroute(re.compile(r"/api/v1/purchases$"))
        await axe_check(page, f"the purchase panel ({size(viewport)})")

        # Dan manages credits: he may buy for anyone, and sees each one's available balance (Cleo's too).
        await page.keyboard.press("Escape")
        await sign_out(page)
        await sign_in_page(page, "dan@acme.test")
        form = await purchase_panel(page, "Dan Reyes")
        await expect(form.locator("#purchase-for-why")).to_have_text(
            "You manage credits, so you can buy credits for anyone in your organisation who may send SMS.")
        assert await visible_radios(form) == 0
        await expect(form.get_by_label("User", exact=True).locator("option", has_text="Cleo Park")).to_have_text(
            f"Cleo Park (Cleo Park's account · {grouped(cleo_account['available'])} credits available)")

        # Ava (master): System Credits or a person, so the radios stay, each saying what it has available.
        await page.keyboard.press("Escape")
        await sign_out(page)
        await sign_in_page(page, "master@acme.test")
        form = await purchase_panel(page, "System Credits")
        await expect(form.locator("#purchase-for-why")).to_have_text("As a master user you can buy System Credits, "
                                                                     "and credits for anyone in your organisation "
                                                                     "who may send SMS.")
        assert await visible_radios(form) == 2
        system_choice = form.get_by_role("radio", name=re.compile(r"^System Credits .*[\d,]+ credits? available$"))
        await expect(system_choice).to_be_checked()
        await form.get_by_role("radio", name="User Credits").check()
        await expect(form.get_by_label("User", exact=True).locator("option", has_text="Cleo Park")).to_have_text(
            re.compile(r"^Cleo Park \(Cleo Park's account · [\d,]+ credits? available\)$"))
        await shot(page, f"purchase-panel-master-{size(viewport)}")

        # Gail (Globex shares one pool): one account in all, named in plain text, no radio and no list.
        await page.keyboard.press("Escape")
        await sign_out(page)
        await sign_in_page(page, "master@globex.test")
        form = await purchase_panel(page, "System Credits")
        single = form.locator("#purchase-for-single")
        await expect(single).to_be_visible()
        await expect(single).to_have_text(re.compile(
            r"^Credits for: System Credits \(your organisation's shared pool · [\d,]+ credits? available\)$"))
        assert await visible_radios(form) == 0
        await expect(form.get_by_label("User", exact=True)).to_be_hidden()
        await expect(form.locator("#purchase-for-why")).to_have_text(
            "Your organisation shares one pool, System Credits: as a master user you buy credits for it.")
        assert await fits_width(page)
        await shot(page, f"purchase-panel-single-{size(viewport)}")
