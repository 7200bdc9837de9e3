"""The live stream in the browser: with the Manage SMS Credits box or the log open, credits moved by
someone else (another client, through the API) show up without a reload; the Send SMS result changes
when messaging settles the message, told by the stream rather than found by polling."""

from __future__ import annotations

import re
import uuid
from typing import Any

import aiohttp
from playwright.async_api import Browser, Request, expect

from tests.e2e.browser_helpers import account_numbers, account_row, browsing, open_credits_box, shot, sign_in_page
from tests.e2e.conftest import Client, System
from tests.e2e.test_browser import own_account
from tests.e2e.test_send_sms import fund, number


async def transfer(client: Client, source: str, target: str, quantity: int) -> None:
    status, answer = await client.post(
        "/api/v1/transfers", {"from_account": source, "to_account": target, "quantity": quantity,
                              "accept_terms": True}, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert status == 201, answer


async def test_the_box_and_the_log_follow_a_transfer_made_elsewhere_without_a_reload(
    system: System, browser: Browser, sign_in: Any, http: aiohttp.ClientSession
) -> None:
    master_api, ben_api = await sign_in("master@acme.test"), await sign_in("ben@acme.test")
    master = await fund(master_api, http, 100)
    ben = await own_account(ben_api)

    async with browsing(browser, system.gateway_url) as (_, page, _watch):
        await sign_in_page(page, "master@acme.test")
        await expect(page.locator("html")).to_have_attribute("data-live", "connected")
        box = await open_credits_box(page)
        before = await account_numbers(box, "Ben Carter")
        await page.evaluate("() => { window.notReloaded = true; }")
        reads: list[str] = []

        def count_reads(request: Request) -> None:
            if re.search(r"/api/v1/accounts$", request.url):
                reads.append(request.url)

        page.on("request", count_reads)

        await transfer(master_api, master["id"], ben["id"], 7)  # from outside the page
        ben_row = account_row(box, "Ben Carter")
        await expect(ben_row.locator('[data-field="balance"]')).to_have_text(f"{before['balance'] + 7:,}")
        await expect(account_row(box, "Ava Nguyen").locator('[data-field="available"]')).to_have_text(
            f"{master['available'] - 7:,}")
        assert await page.evaluate("() => window.notReloaded") is True
        assert reads == []  # changed from the stream's message, not by reading the accounts again
        await shot(page, "30-live-box")

        # The log of Ben's account, filtered: a new transfer appears on top, the filter stays.
        await box.get_by_role("button", name="Close").click()
        await page.goto(f"/credits/logs?account={ben['id']}&direction=in")
        await expect(page.locator("#logs-body tr").first).to_be_visible()
        rows_before = await page.locator("#logs-body tr").count()
        await page.evaluate("() => { window.notReloaded = true; }")
        await transfer(master_api, master["id"], ben["id"], 3)
        await expect(page.locator("#logs-body tr")).to_have_count(rows_before + 1)
        newest = page.locator("#logs-body tr").first
        await expect(newest.locator('[data-label="Credits"]')).to_contain_text("3")
        await expect(newest).to_have_attribute("data-direction", "in")
        await expect(page.locator("#logs-direction")).to_have_value("in")
        await expect(page.locator("#logs-account")).to_have_value(ben["id"])
        assert await page.evaluate("() => window.notReloaded") is True
        await shot(page, "31-live-log")


async def test_the_send_sms_result_changes_when_the_stream_says_the_message_settled(
    system: System, browser: Browser, sign_in: Any, http: aiohttp.ClientSession
) -> None:
    ben_api = await sign_in("ben@acme.test")
    await fund(ben_api, http, 100)
    async with browsing(browser, system.gateway_url) as (_, page, _watch):
        await sign_in_page(page, "ben@acme.test")
        await expect(page.locator("html")).to_have_attribute("data-live", "connected")
        await page.locator("#user-button").click()
        await page.get_by_role("menuitem", name="Send SMS").click()
        form = page.get_by_role("form", name="Send SMS")
        await form.get_by_label("To", exact=True).fill(number())
        await form.get_by_label("Message", exact=True).fill("Live")
        reads: list[str] = []
        page.on("request", lambda r: reads.append(r.url) if re.search(r"/api/v1/messages/[0-9a-f-]{36}$", r.url)
                else None)
        await form.get_by_role("button", name="Send", exact=True).click()
        await expect(page.get_by_role("heading", name="Message sent")).to_be_visible()
        # With the stream connected the page reads the message only every 5 s; the settlement (a second or
        # so after sending) shows well before that, because the stream's `message` wakes it.
        await expect(page.locator("#send-summary")).to_contain_text(re.compile(r"1 of 1 credits? spent"),
                                                                  timeout=4_000)
        assert len(reads) <= 3, reads
        await shot(page, "32-live-send")
