"""Monthly limits in the web app, in a real browser against the whole running system: Ava (a master) sets
Cleo's monthly limit from Cleo's Actions menu in Manage SMS Credits (field errors in plain words, the used
and left figures after saving, in Acme's time zone, at an address of its own, on a desktop and at phone
width); a plain user is offered no such action; then Cleo's message beyond what is left is refused on the
Send SMS page with the figures said to her. Cleo's limit is set from what she has used so far this month
(other tests send as Cleo) and taken off again at the end."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from playwright.async_api import Browser, Page, Route, expect

from tests.e2e.browser_helpers import (
    PHONE,
    account_row,
    axe_check,
    browsing,
    choose_action,
    fits_width,
    open_credits_box,
    shot,
    sign_in_page,
)
from tests.e2e.conftest import Client, System
from tests.e2e.test_browser_lots import credits, en_au
from tests.e2e.test_limits import put_limit
from tests.e2e.test_purchase_flow import GOOD_CARD, own_account, pay, start_purchase
from tests.e2e.test_send_sms import number
from tests.support import eventually

LIMITS = re.compile(r"/api/v1/users/[^/]+/limits$")
OUT_OF_RANGE = "Enter a whole number of credits from 1 to 10,000,000, or choose No limit."
# Three GSM 7-bit segments (more than 2 x 153 characters, at most 3 x 153): three credits to one number.
THREE_SEGMENTS = ("Open home this Saturday at 14 Harbour Street from 10am to 11am. " * 6)[:400]


async def cleo_now(
    ava: Client, cleo: Client, http: aiohttp.ClientSession
) -> tuple[dict[str, Any], dict[str, Any], str]:
    """Cleo (her account holding enough for the message, no limit yet), her month so far, and when it resets
    as the app writes it (the day, in Acme's time zone)."""
    _, me = await cleo.get("/api/v1/me")
    account = await own_account(cleo)
    if account["available"] < 3:
        # As test_send_sms.fund does, with more time: run first on a fresh system, the purchase's path through
        # billing, the bus and the ledger is still warming up.
        await pay(http, (await start_purchase(cleo, account["id"], 100))["checkout_url"], GOOD_CARD)

        async def credited() -> bool:
            return bool((await own_account(cleo))["available"] >= 3)

        await eventually(credited, timeout=30)
        account = await own_account(cleo)
    assert (await put_limit(ava, me["id"], None))[0] == 200
    _, month = await cleo.get(f"/api/v1/users/{me['id']}/limits")
    resets = datetime.fromisoformat(month["resets_at"]).astimezone(ZoneInfo(me["tenant"]["timezone"])).date()
    return account, month, en_au(resets)


async def refused_once(route: Route) -> None:
    """The limits API naming the field as the ledger does (its words are for developers)."""
    await route.fulfill(status=422, content_type="application/problem+json", body=json.dumps({
        "type": "https://errors.test/problems/limit-invalid", "title": "The limit is not valid", "status": 422,
        "detail": "A monthly credit limit is 1 to 10,000,000 credits, or null for none.",
        "errors": [{"field": "monthly_credit_limit", "message": "From 1 to 10000000, or null."}]}))


async def set_limit_in_the_box(page: Page, used: int, limit: int, resets: str) -> str:
    """Ava opens Cleo's Monthly Limit, is told off in words twice, then saves `limit`. Answers the address."""
    await sign_in_page(page, "master@acme.test")
    box = await open_credits_box(page)
    await choose_action(box, "Cleo Park", "Monthly Limit")
    await expect(page).to_have_url(re.compile(r"/credits/limit\?account=[0-9a-f-]+$"))
    panel = box.locator("#panel-limit")
    await expect(panel.get_by_role("heading", name="Monthly limit: Cleo Park")).to_be_focused()
    usage = panel.locator("#limit-usage")
    await expect(usage).to_have_text(f"Used this month: {credits(used)} · no monthly limit")
    await expect(panel.get_by_label("No limit")).to_be_checked()

    await panel.get_by_label("Set a limit").check()
    amount = panel.get_by_label("Credits a month")
    await amount.fill("0")
    await panel.get_by_role("button", name="Save").click()
    await expect(panel.locator("#limit-amount-error")).to_have_text(OUT_OF_RANGE)
    await expect(amount).to_have_attribute("aria-invalid", "true")
    await expect(amount).to_be_focused()

    await page.route(LIMITS, refused_once, times=1)
    await amount.fill(str(limit))
    await expect(panel.locator("#limit-amount-error")).to_be_hidden()  # fixed: its message goes
    await panel.get_by_role("button", name="Save").click()
    await expect(panel.locator("#limit-amount-error")).to_have_text(OUT_OF_RANGE)

    await panel.get_by_role("button", name="Save").click()
    status = panel.locator("#limit-status")
    await expect(status).to_have_text(f"Saved: Cleo Park may spend up to {credits(limit)} a month.")
    await expect(status).to_be_focused()
    await expect(usage).to_have_text(
        f"Used this month: {used:,} of {credits(limit)} · {limit - used:,} left · resets on {resets}")
    await expect(panel.locator("#limit-amount-error")).to_be_hidden()
    return page.url


async def test_a_master_sets_a_monthly_limit_in_the_box_and_a_message_beyond_it_is_refused_on_send_sms(
    system: System, browser: Browser, sign_in: Any, http: aiohttp.ClientSession
) -> None:
    ava, cleo = await sign_in("master@acme.test"), await sign_in("cleo@acme.test")
    account, month, resets = await cleo_now(ava, cleo, http)
    used, limit = month["used_this_month"], month["used_this_month"] + 2  # two credits left: the message needs 3
    try:
        async with browsing(browser, system.gateway_url) as (_, page, _watch):
            address = await set_limit_in_the_box(page, used, limit, resets)
            _, saved = await ava.get(f"/api/v1/users/{month['user_id']}/limits")
            assert (saved["monthly_credit_limit"], saved["remaining"]) == (limit, 2), saved
            assert await fits_width(page)
            await shot(page, "limits-panel-desktop")
            await axe_check(page, "monthly limit (desktop)")
            await the_address_reopens_the_panel_and_back_returns(page, limit)

        async with browsing(browser, system.gateway_url, PHONE) as (_, page, _watch):
            await sign_in_page(page, "master@acme.test")
            await page.goto(address)
            panel = page.locator("#panel-limit")
            await expect(panel.locator("#limit-usage")).to_have_text(
                f"Used this month: {used:,} of {credits(limit)} · 2 left · resets on {resets}")
            await expect(panel.get_by_label("Credits a month")).to_have_value(str(limit))
            assert await fits_width(page)
            await shot(page, "limits-panel-phone")
            await axe_check(page, "monthly limit (phone)")

        async with browsing(browser, system.gateway_url) as (_, page, _watch):
            await cleo_is_refused_on_send_sms(page, limit, resets)
        assert (await own_account(cleo))["held"] == account["held"]  # nothing was reserved
    finally:
        assert (await put_limit(ava, month["user_id"], None))[0] == 200


async def the_address_reopens_the_panel_and_back_returns(page: Page, limit: int) -> None:
    await page.reload()
    panel = page.locator("#panel-limit")
    await expect(panel.get_by_role("heading", name="Monthly limit: Cleo Park")).to_be_visible()
    await expect(panel.get_by_label("Set a limit")).to_be_checked()
    await expect(panel.get_by_label("Credits a month")).to_have_value(str(limit))
    await panel.get_by_role("button", name="Back to accounts").click()
    await expect(page).to_have_url(re.compile(r"/credits$"))
    await expect(page.locator("#panel-accounts")).to_be_visible()


async def cleo_is_refused_on_send_sms(page: Page, limit: int, resets: str) -> None:
    await sign_in_page(page, "cleo@acme.test")
    await page.goto("/send")
    await expect(page.locator("#send-from")).to_contain_text("available")
    form = page.get_by_role("form", name="Send SMS")
    await form.get_by_label("To", exact=True).fill(number())
    await form.get_by_label("Message", exact=True).fill(THREE_SEGMENTS)
    await expect(page.locator("#send-counter")).to_contain_text("3 segments")
    await form.get_by_role("button", name="Send", exact=True).click()
    refusal = form.locator('[data-error-for="form"]')
    await expect(refusal).to_have_text(
        f"Over your monthly limit: this message needs 3 credits and only 2 of your {credits(limit)} a month "
        "are left. Send a shorter message or to fewer numbers, or ask a master user to raise your limit. "
        f"Your limit starts afresh on {resets}.")
    await expect(page.get_by_role("heading", name="Message sent")).to_be_hidden()
    assert await fits_width(page)
    await shot(page, "send-limit-reached-desktop")
    await axe_check(page, "send SMS over the monthly limit")


async def test_only_masters_and_credit_managers_are_offered_a_monthly_limit(
    system: System, browser: Browser, sign_in: Any
) -> None:
    ben = await own_account(await sign_in("ben@acme.test"))
    async with browsing(browser, system.gateway_url) as (_, page, _watch):
        await sign_in_page(page, "dan@acme.test")  # manages credits: everyone in Acme
        box = await open_credits_box(page)
        await box.get_by_role("button", name="Actions for Cleo Park").click()
        await expect(box.get_by_role("menuitem", name="Monthly Limit")).to_be_visible()

    async with browsing(browser, system.gateway_url) as (_, page, _watch):
        await sign_in_page(page, "ben@acme.test")  # a plain user, not even for himself
        box = await open_credits_box(page)
        await expect(account_row(box, "Ben Carter")).to_have_count(1)
        await box.get_by_role("button", name="Actions for Ben Carter").click()
        await expect(box.get_by_role("menuitem", name="View Credits by Expiry")).to_be_visible()
        await expect(box.get_by_role("menuitem", name="Monthly Limit")).to_have_count(0)
        await page.goto(f"/credits/limit?account={ben['id']}")
        await expect(box.locator("#panel-none-text")).to_have_text(
            "That account's monthly limit is not one you can set, or the account no longer exists.")
        await expect(box.locator("#panel-limit")).to_be_hidden()
