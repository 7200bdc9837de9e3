"""The web app in a real browser (Debian's Chromium, headless) against the whole running system: the
steps of the user manual, by mouse and by keyboard, on a desktop and at phone width. Every page is
watched for requests to other origins, Content Security Policy violations and script errors, and each
step leaves a screenshot in test-artifacts/screenshots/."""

from __future__ import annotations

import csv
import io
import re
import uuid
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, Page, Route, ViewportSize, expect
from pypdf import PdfReader

from tests.e2e.browser_helpers import (
    DESKTOP,
    PHONE,
    account_numbers,
    account_row,
    browsing,
    choose_action,
    fits_width,
    open_credits_box,
    shot,
    sign_in_page,
    sign_out,
)
from tests.e2e.conftest import Client, System
from tests.support import eventually

GOOD_CARD = "4242424242424242"
TERMS_MESSAGE = "Tick “I agree to the conditions” to transfer credits."


async def own_account(client: Client) -> dict[str, Any]:
    _, me = await client.get("/api/v1/me")
    _, accounts = await client.get("/api/v1/accounts")
    [account] = [a for a in accounts if a["owner"] and a["owner"]["id"] == me["id"]]
    return account


async def pay_by_card(page: Page) -> None:
    """The hosted payment screen, as a person fills it in."""
    await page.get_by_label("Name on card").fill("Ava Nguyen")
    await page.get_by_label("Card number").fill(GOOD_CARD)
    await page.get_by_label("Expiry month").fill("12")
    await page.get_by_label("Expiry year").fill("2035")
    await page.get_by_label("CVC").fill("123")
    await shot(page, "05-payment-screen")
    await page.get_by_role("button", name=re.compile(r"^Pay ")).click()


async def test_master_buys_system_credits_gives_ben_200_and_ben_sees_them_in_his_log(
    system: System, browser: Browser, sign_in: Any
) -> None:
    master_api, ben_api = await sign_in("master@acme.test"), await sign_in("ben@acme.test")
    _, quote = await master_api.get("/api/v1/quotes?quantity=1000")
    ben_before = (await own_account(ben_api))["balance"]  # other tests may have given Ben credits already

    async with browsing(browser, system.gateway_url) as (_, page, _watch):
        await sign_in_as_master(page)
        box = await open_credits_box(page)
        await expect(box.locator('table[data-kind="system"] caption')).to_contain_text("System Credits")
        await shot(page, "03-manage-sms-credits-box")

        # Purchase 1,000 System Credits: the quote follows the quantity, the billing details are prefilled.
        await choose_action(box, "System Credits", "Purchase SMS Credits")
        form = box.get_by_role("form", name="Purchase SMS Credits")
        await expect(form.get_by_role("radio", name=re.compile("^System Credits"))).to_be_checked()
        await form.get_by_label("Quantity (credits)").fill("1000")
        await expect(form.locator("#purchase-quote")).to_contain_text(f"{quote['currency']} {quote['total']}")
        await expect(form.get_by_label("Name", exact=True)).to_have_value("Ava Nguyen")
        await expect(form.get_by_label(re.compile("^Email"))).to_have_value("master@acme.test")
        await shot(page, "04-purchase-form")
        async with page.expect_request(re.compile(r"/api/v1/purchases$")) as purchase_request:
            await form.get_by_role("button", name="Proceed").click()
        assert (await purchase_request.value).headers.get("idempotency-key")
        await page.wait_for_url(re.compile(r"/checkout/"))
        await pay_by_card(page)

        # The confirmation page waits for the credits, then offers the invoice and the next steps.
        await expect(page.get_by_role("heading", name="Thank you: your credits are ready")).to_be_visible()
        await shot(page, "06-confirmation")
        async with page.expect_download() as download_info:
            await page.get_by_role("link", name="Download Tax Invoice / Receipt").click()
        invoice = await (await download_info.value).path()
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(invoice.read_bytes())).pages)
        assert "Tax Invoice" in text and quote["total"] in text

        # Transfer 200 of them to Ben Carter, from the confirmation page's link.
        await page.get_by_role("link", name="Transfer SMS Credits").click()
        box = page.get_by_role("dialog", name="Manage SMS Credits")
        form = box.get_by_role("form", name=re.compile("^Transfer SMS Credits"))
        await expect(form.get_by_label("From")).to_have_value(re.compile(".+"))
        assert "System Credits" in await form.get_by_label("From").locator("option:checked").inner_text()
        system_before = await api_balance(master_api, "System Credits")
        await form.get_by_label("To", exact=True).select_option(label="Ben Carter")
        await form.get_by_label("Quantity (credits)").fill("200")
        await form.get_by_label("I agree to the conditions").check()
        await shot(page, "07-transfer-form")
        async with page.expect_request(re.compile(r"/api/v1/transfers$")) as transfer_request:
            await form.get_by_role("button", name="Transfer", exact=True).click()
        assert (await transfer_request.value).headers.get("idempotency-key")
        await expect(box.get_by_role("status")).to_have_text(
            "Transferred 200 credits from System Credits to Ben Carter."
        )
        assert (await account_numbers(box, "Ben Carter"))["balance"] == ben_before + 200
        assert (await account_numbers(box, "System Credits"))["balance"] == system_before - 200
        await shot(page, "08-transfer-done")
        await box.get_by_role("button", name="Close").click()
        await sign_out(page)

        # Ben sees his new balance and the transfer in his 30-day log.
        await sign_in_page(page, "ben@acme.test")
        box = await open_credits_box(page)
        assert (await account_numbers(box, "Ben Carter"))["balance"] == ben_before + 200
        await expect(box.locator('table[data-kind="system"]')).to_have_count(0)
        await choose_action(box, "Ben Carter", "View Last 30 Days Logs")
        await expect(page.get_by_role("heading", name="Last 30 Days Logs")).to_be_visible()
        row = page.locator('#logs-body tr[data-kind="transfer"][data-direction="in"]').first
        await expect(row).to_contain_text("+200")
        await expect(row).to_contain_text("System Credits")
        await expect(row).to_contain_text("Ava Nguyen")
        await shot(page, "09-ben-30-day-log")


async def sign_in_as_master(page: Page) -> None:
    await sign_in_page(page, "master@acme.test", screenshot="01-sign-in")
    await shot(page, "02-home")


async def api_balance(client: Client, name: str) -> int:
    _, accounts = await client.get("/api/v1/accounts")
    [account] = [a for a in accounts if a["name"] == name]
    return int(account["balance"])


async def api_offers(system: System, http: aiohttp.ClientSession, *paths: str) -> bool:
    async with http.get(system.gateway_url + "/api/openapi.json") as response:
        document = await response.json()
    return all(f"/api/v1{path}" in document["paths"] for path in paths)


async def ben_buys_credits(ben: Client, http: aiohttp.ClientSession, quantity: int) -> None:
    account = await own_account(ben)
    status, created = await ben.post(
        "/api/v1/purchases",
        {"account_id": account["id"], "quantity": quantity,
         "billing": {"name": "Ben Carter", "email": "ben@acme.test"}},
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert status == 201, created
    card = {"card_number": GOOD_CARD, "exp_month": 12, "exp_year": 2035, "cvc": "123", "name": "Ben Carter"}
    async with http.post(created["checkout_url"], json=card) as response:
        assert response.status == 200

    async def in_the_log() -> bool:  # so that the table and the CSV below see the same rows
        _, page = await ben.get("/api/v1/logs?kind=purchase")
        return any(e["reference"] == f"purchase:{created['id']}" for e in page["entries"])

    await eventually(in_the_log, timeout=5.0)


async def test_ben_downloads_his_log_as_csv_and_opens_the_print_report(
    system: System, browser: Browser, sign_in: Any, http: aiohttp.ClientSession
) -> None:
    if not await api_offers(system, http, "/logs.csv", "/logs/report"):
        pytest.skip("the API has no GET /api/v1/logs.csv and /logs/report yet")
    await ben_buys_credits(await sign_in("ben@acme.test"), http, 100)

    async with browsing(browser, system.gateway_url) as (context, page, _watch):
        await sign_in_page(page, "ben@acme.test")
        await page.locator("#user-button").click()
        await page.get_by_role("menuitem", name="View Last 30 Days Logs").click()
        rows = page.locator("#logs-body tr")
        await expect(rows.first).to_be_visible()
        while await page.get_by_role("button", name="More").is_visible():
            await page.get_by_role("button", name="More").click()
        shown = await rows.count()

        async with page.expect_download() as download_info:
            await page.get_by_role("button", name="Download CSV").click()
        download = await download_info.value
        assert download.suggested_filename.endswith(".csv")
        table = list(csv.reader(io.StringIO((await download.path()).read_text(encoding="utf-8-sig"))))
        header, entries = table[0], table[1:]
        assert len(entries) == shown, (header, entries[:3])
        cells = [[cell.strip().lower() for cell in row] for row in entries]
        assert any({"purchase", "100", "ben carter"} <= set(row) for row in cells), entries[:5]
        await shot(page, "10-log-downloaded-csv")

        async with context.expect_page() as report_info:
            await page.get_by_role("button", name="Print Report").click()
        report = await report_info.value
        await expect(report.locator("body")).to_contain_text("Ben Carter")
        await report.wait_for_function("() => document.adoptedStyleSheets.length > 0")  # its print styles
        await shot(report, "11-print-report")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone-360px"])
async def test_a_user_sees_no_system_credits_and_a_transfer_without_the_tick_is_refused_beside_it(
    system: System, browser: Browser, viewport: ViewportSize
) -> None:
    width = "phone" if viewport is PHONE else "desktop"
    async with browsing(browser, system.gateway_url, viewport) as (_, page, _watch):
        await sign_in_page(page, "cleo@acme.test")
        assert await fits_width(page)
        box = await open_credits_box(page)
        await expect(box.locator('table[data-kind="system"]')).to_have_count(0)
        await expect(box).not_to_contain_text("System Credits", use_inner_text=True)
        await expect(account_row(box, "Cleo Park")).to_have_count(1)
        assert await fits_width(page)
        await shot(page, f"12-user-box-{width}")

        await choose_action(box, "Cleo Park", "Transfer SMS Credits From this Account")
        form = box.get_by_role("form", name="Transfer SMS Credits From this Account")
        await expect(form.get_by_label("To", exact=True)).to_have_value(re.compile(".+"))
        await form.get_by_label("Quantity (credits)").fill("1")
        tick = form.get_by_label("I agree to the conditions")
        await expect(tick).not_to_be_checked()
        async with page.expect_response(re.compile(r"/api/v1/transfers$")) as answer:
            await form.get_by_role("button", name="Transfer", exact=True).click()
        assert (await answer.value).status == 422  # the API itself refused it: the tick is not only a form check

        error = form.locator("#transfer-terms-error")
        await expect(error).to_have_text(TERMS_MESSAGE)
        await expect(tick).to_have_attribute("aria-invalid", "true")
        await expect(tick).to_be_focused()
        tick_box, error_box = await tick.bounding_box(), await error.bounding_box()
        assert tick_box and error_box and 0 <= error_box["y"] - tick_box["y"] < 80, (tick_box, error_box)
        assert await fits_width(page)
        await shot(page, f"13-transfer-without-tick-{width}")


async def test_the_box_works_by_keyboard_keeps_focus_inside_and_closes_on_escape(
    system: System, browser: Browser
) -> None:
    async with browsing(browser, system.gateway_url) as (_, page, _watch):
        await sign_in_page(page, "master@acme.test")
        focused_id = "() => document.activeElement && document.activeElement.id"
        inside = "() => document.getElementById('credits-dialog').contains(document.activeElement)"

        # Keyboard only: Tab to the name, open its drop-down, choose Manage SMS Credits.
        await page.locator("body").focus()
        for _ in range(3):
            await page.keyboard.press("Tab")
        assert await page.evaluate(focused_id) == "user-button"
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("menuitem", name="Manage SMS Credits")).to_be_focused()
        await page.keyboard.press("Enter")
        box = page.get_by_role("dialog", name="Manage SMS Credits")
        await expect(box).to_be_visible()
        await expect(box.locator("table.accounts").first).to_be_visible()

        for key in ["Tab"] * 14 + ["Shift+Tab"] * 14:
            await page.keyboard.press(key)
            assert await page.evaluate(inside), f"focus left the box after {key}"

        # An Actions menu closes on Escape and hands focus back to its icon; the box stays open.
        actions = box.get_by_role("button", name="Actions for System Credits")
        await actions.focus()
        await page.keyboard.press("Enter")
        await expect(box.get_by_role("menuitem", name="Purchase SMS Credits")).to_be_focused()
        await shot(page, "14-keyboard-actions-menu")
        await page.keyboard.press("Escape")
        await expect(actions).to_be_focused()
        await expect(box).to_be_visible()

        await page.keyboard.press("Escape")
        await expect(box).to_be_hidden()
        assert await page.evaluate(focused_id) == "user-button"
        await shot(page, "15-box-closed-by-escape")


async def test_the_log_says_it_is_catching_up_while_reporting_is_behind_the_last_change(
    system: System, browser: Browser
) -> None:
    async with browsing(browser, system.gateway_url) as (_, page, _watch):
        await sign_in_page(page, "dan@acme.test")
        # As if Dan had just made a change the log has not caught up with: the first answer says stale.
        await page.evaluate("() => sessionStorage.setItem('smsCredits.consistencyToken', '1')")
        asked: list[str] = []

        async def first_answer_stale(route: Route) -> None:
            asked.append(route.request.url)
            answer = await route.fetch()
            body = await answer.json()
            await route.fulfill(response=answer, json={**body, "stale": len(asked) == 1})

        await page.route(re.compile(r"/api/v1/logs\?"), first_answer_stale)
        await page.locator("#user-button").click()
        await page.get_by_role("menuitem", name="View Last 30 Days Logs").click()
        await expect(page.get_by_text("Catching up…")).to_be_visible()
        await shot(page, "16-log-catching-up")
        await expect(page.get_by_text("Catching up…")).to_be_hidden()
        assert len(asked) >= 2 and all("consistency_token=1" in url for url in asked), asked
