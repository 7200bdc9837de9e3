"""The web app's rough edges (issue 17), in a real browser against the whole running system, on a desktop
and at phone width: a friendly page for an unknown address, field messages that go once the field is
fixed, counts in the singular, a Send SMS counter that counts only numbers that can be sent, a log that
reads plainly (reservations marked and unsigned, who sent an SMS, what each row is, the tenant's time
zone, each row's transaction), a log whose filters match nothing saying so, and addresses of their own
for the box, its panels and the log's filters (Back and Forward, a bookmark, a second tab)."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, Route, ViewportSize, expect

from tests.e2e.browser_helpers import DESKTOP, PHONE, account_row, browsing, choose_action, shot, sign_in_page
from tests.e2e.conftest import Client, System
from tests.e2e.test_purchase_flow import GOOD_CARD, pay, start_purchase
from tests.e2e.test_send_sms import fund, number, send, settled
from tests.support import eventually

SIZES = pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
SYDNEY_ZONE = re.compile(r"AE[DS]T")


def size(viewport: ViewportSize) -> str:
    return "phone" if viewport is PHONE else "desktop"


@SIZES
async def test_an_unknown_address_shows_a_friendly_page_and_the_api_keeps_problem_json(
    system: System, browser: Browser, http: aiohttp.ClientSession, viewport: ViewportSize
) -> None:
    async with browsing(browser, system.gateway_url, viewport) as (_, page, _watch):
        for address in ("/nope", "/app/nope"):
            response = await page.goto(address)
            assert response is not None and response.status == 404
            assert response.headers["content-type"].startswith("text/html")
            await expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
            await expect(page.get_by_role("link", name="Go to the SMS Credits home page")).to_be_visible()
        await shot(page, f"app-404-{size(viewport)}")
        await page.get_by_role("link", name="Go to the SMS Credits home page").click()
        await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()

    # A program asking for JSON, and any address under /api/ whatever it asks for, keep problem+json.
    for address, accept in (("/nope", "application/json"), ("/api/v1/nope", "text/html"), ("/api/nope", "text/html")):
        async with http.get(system.gateway_url + address, headers={"Accept": accept}) as answer:
            assert answer.status == 404 and answer.content_type == "application/problem+json", address


@SIZES
async def test_the_send_counter_counts_only_valid_numbers_and_messages_go_once_fixed(
    system: System, browser: Browser, viewport: ViewportSize
) -> None:
    async with browsing(browser, system.gateway_url, viewport) as (_, page, _watch):
        await sign_in_page(page, "master@acme.test")
        await page.goto("/send")
        form = page.locator("#send-form")
        counter = page.locator("#send-counter")
        await form.get_by_label("Message").fill("Hello from the office")
        await form.get_by_label("To").fill("0412345678, abc")
        await expect(counter.locator("[data-recipients]")).to_have_text("1 recipient")
        await expect(counter.locator("[data-invalid]")).to_contain_text("1 number is not valid: abc")
        await expect(counter.locator("[data-credits]")).to_have_text("1 credit")
        await shot(page, f"app-send-counter-{size(viewport)}")

        # Send with a bad number and no message: both are named; each message goes as its field is fixed.
        await form.get_by_label("Message").fill("")
        await form.get_by_role("button", name="Send", exact=True).click()
        to_error, body_error = page.locator("#send-to-error"), page.locator("#send-body-error")
        await expect(to_error).to_contain_text("not valid: abc")
        await expect(body_error).to_have_text("Write a message.")
        await shot(page, f"app-send-errors-{size(viewport)}")
        await form.get_by_label("To").fill("+61 412 345 678")
        await expect(to_error).to_be_hidden()
        await expect(form.get_by_label("To")).not_to_have_attribute("aria-invalid", "true")
        await expect(body_error).to_be_visible()  # only the field fixed loses its message
        await form.get_by_label("Message").fill("Hi")
        await expect(body_error).to_be_hidden()
        await shot(page, f"app-send-errors-fixed-{size(viewport)}")


async def system_credits(client: Client) -> dict[str, Any]:
    _, accounts = await client.get("/api/v1/accounts")
    [account] = [a for a in accounts if a["kind"] == "system"]
    return dict(account)


@SIZES
async def test_the_box_and_its_panels_have_addresses_and_fixed_fields_lose_their_messages(
    system: System, browser: Browser, sign_in: Any, http: aiohttp.ClientSession, viewport: ViewportSize
) -> None:
    ava = await sign_in("master@acme.test")
    system_account = await system_credits(ava)
    if system_account["available"] < 1:
        await pay(http, (await start_purchase(ava, system_account["id"], 100))["checkout_url"], GOOD_CARD)

        async def funded() -> bool:
            return (await system_credits(ava))["available"] >= 1

        await eventually(funded, timeout=10)

    async with browsing(browser, system.gateway_url, viewport) as (context, page, _watch):
        await sign_in_page(page, "master@acme.test")
        await page.locator("#user-button").click()
        await page.get_by_role("menuitem", name="Manage SMS Credits").click()
        box = page.get_by_role("dialog", name="Manage SMS Credits")
        await expect(box.locator("table.accounts").first).to_be_visible()
        await expect(page).to_have_url(re.compile(r"/credits$"))

        # The purchase panel has its address; its billing name's message goes once a name is typed.
        await choose_action(box, "System Credits", "Purchase SMS Credits")
        await expect(page).to_have_url(re.compile(rf"/credits/purchase\?account={system_account['id']}$"))
        purchase = box.get_by_role("form", name="Purchase SMS Credits")
        await purchase.get_by_label("Quantity (credits)").fill("100")
        await purchase.get_by_label("Name", exact=True).fill("")
        await purchase.get_by_role("button", name="Proceed").click()
        name_error = box.locator("#purchase-name-error")
        await expect(name_error).to_have_text("Enter the name for the tax invoice.")
        await purchase.get_by_label("Name", exact=True).fill("Ava Nguyen")
        await expect(name_error).to_be_hidden()

        # Back returns to the accounts, in the box; Forward to the purchase panel.
        await page.go_back()
        await expect(page).to_have_url(re.compile(r"/credits$"))
        await expect(box.locator("#panel-accounts")).to_be_visible()
        await expect(purchase).to_be_hidden()
        await page.go_forward()
        await expect(purchase).to_be_visible()
        await shot(page, f"app-deep-link-forward-{size(viewport)}")
        await page.go_back()
        await expect(box.locator("#panel-accounts")).to_be_visible()

        # Transfer: the tick's message goes once it is ticked; the answer counts in the singular.
        await choose_action(box, "System Credits", "Transfer SMS Credits From this Account")
        await expect(page).to_have_url(re.compile(rf"/credits/transfer\?from={system_account['id']}$"))
        transfer = box.get_by_role("form", name=re.compile("^Transfer SMS Credits"))
        await transfer.get_by_label("To", exact=True).select_option(label="Ben Carter")
        await transfer.get_by_label("Quantity (credits)").fill("1")
        await transfer.get_by_role("button", name="Transfer", exact=True).click()
        terms_error = box.locator("#transfer-terms-error")
        await expect(terms_error).to_contain_text("I agree to the conditions")
        await transfer.get_by_label("I agree to the conditions").check()
        await expect(terms_error).to_be_hidden()
        await transfer.get_by_role("button", name="Transfer", exact=True).click()
        await expect(box.locator("#accounts-status")).to_have_text(
            "Transferred 1 credit from System Credits to Ben Carter."
        )
        await expect(page).to_have_url(re.compile(r"/credits$"))
        await expect(account_row(box, "Ben Carter")).to_be_visible()
        await shot(page, f"app-transfer-singular-{size(viewport)}")

        # A bookmark of a panel, opened in a second tab: signed in already, on the same panel.
        other = await context.new_page()
        await other.goto(f"/credits/transfer?from={system_account['id']}")
        other_box = other.get_by_role("dialog", name="Manage SMS Credits")
        await expect(other_box.get_by_role("form", name=re.compile("^Transfer SMS Credits"))).to_be_visible()
        await expect(other_box.locator("#accounts-error")).to_be_hidden()
        await expect(other_box.get_by_label("From", exact=True)).to_have_value(system_account["id"])
        await shot(other, f"app-deep-link-second-tab-{size(viewport)}")
        await other.close()

        # Closing the box gives back the address it was opened over.
        await box.get_by_role("button", name="Close").click()
        await expect(page).to_have_url(re.compile(r"/$"))


async def test_fresh_figures_arriving_keep_an_open_actions_menu_open(system: System, browser: Browser) -> None:
    async with browsing(browser, system.gateway_url) as (_, page, _watch):
        await sign_in_page(page, "master@acme.test")
        await page.goto("/credits")
        box = page.get_by_role("dialog", name="Manage SMS Credits")
        await expect(box.locator("table.accounts").first).to_be_visible()
        await choose_action(box, "System Credits", "Purchase SMS Credits")

        # Back to the accounts: the box shows them at once and asks for fresh figures, which this time
        # take a second and a half (a slow line). Ava opens an Actions menu meanwhile.
        answered = asyncio.Event()

        async def slow(route: Route) -> None:
            await asyncio.sleep(1.5)
            await route.continue_()
            answered.set()

        await page.route("**/api/v1/accounts", slow)
        await page.go_back()
        await expect(box.locator("#panel-accounts")).to_be_visible()
        await box.locator("tr[data-account-id]").first.evaluate("row => { row.dataset.drawnBefore = 'yes'; }")
        await box.get_by_role("button", name="Actions for System Credits").click()
        item = box.get_by_role("menuitem", name="Transfer SMS Credits From this Account")
        await expect(item).to_be_visible()

        # The figures arrive and the list is drawn again: the menu is open on the new row, usable.
        await asyncio.wait_for(answered.wait(), 10)
        await expect(box.locator("tr[data-drawn-before]")).to_have_count(0)
        await expect(item).to_be_visible()
        await expect(box.get_by_role("button", name="Actions for System Credits")).to_have_attribute(
            "aria-expanded", "true")
        await item.click()
        await expect(box.get_by_role("form", name=re.compile("^Transfer SMS Credits"))).to_be_visible()


async def sms_in_the_log(ava: Client, http: aiohttp.ClientSession) -> tuple[dict[str, Any], str]:
    """Ava buys 100 credits for her own account and sends one SMS; answers her account and the message's
    reference once its capture is in the log."""
    account = await fund(ava, http, 100)
    status, sent = await send(ava, [number()], "Inspection tomorrow at 9am.")
    assert status == 202, sent
    await settled(ava, sent["id"], receipts=False)
    reference = f"message:{sent['id']}"

    async def logged() -> bool:
        _, page = await ava.get(f"/api/v1/logs?account={account['id']}&kind=capture")
        return any(e["reference"] == reference for e in page["entries"])

    await eventually(logged, timeout=10)
    return account, reference


async def test_a_sent_sms_names_its_sender_in_the_log(
    system: System, browser: Browser, sign_in: Any, http: aiohttp.ClientSession
) -> None:
    ava = await sign_in("master@acme.test")
    account, reference = await sms_in_the_log(ava, http)
    async with browsing(browser, system.gateway_url) as (_, page, _watch):
        await sign_in_page(page, "master@acme.test")
        await page.goto(f"/credits/logs?account={account['id']}")
        row = page.locator(f'#logs-body tr[data-reference="{reference}"]')
        await expect(row.and_(page.locator('[data-kind="hold"]')).locator('[data-label="By"]')).to_have_text(
            "Ava Nguyen", timeout=3000)
        # The capture is settled by the system on its own; it names the person who pressed Send.
        await expect(row.and_(page.locator('[data-kind="capture"]')).locator('[data-label="By"]')).to_have_text(
            "Ava Nguyen", timeout=3000)


@SIZES
async def test_the_log_reads_plainly_and_its_filters_have_addresses(
    system: System, browser: Browser, sign_in: Any, http: aiohttp.ClientSession, viewport: ViewportSize
) -> None:
    ava = await sign_in("master@acme.test")
    account, reference = await sms_in_the_log(ava, http)

    async with browsing(browser, system.gateway_url, viewport) as (context, page, _watch):
        await sign_in_page(page, "master@acme.test")
        await page.goto(f"/credits/logs?account={account['id']}")
        rows = page.locator("#logs-body tr")
        hold = rows.and_(page.locator(f'[data-reference="{reference}"][data-kind="hold"]'))
        capture = rows.and_(page.locator(f'[data-reference="{reference}"][data-kind="capture"]'))

        # The hold is a reservation: marked, no minus sign; the capture is the spending, by its sender.
        await expect(hold.locator(".badge")).to_have_text("Reserved")
        assert "\u2212" not in await hold.locator('[data-label="Credits"]').inner_text()
        assert "\u2212" in await capture.locator('[data-label="Credits"]').inner_text()
        # Each says what it was for: the hold's note, which its capture carries.
        await expect(hold.locator('[data-label="Description"]')).to_have_text(
            re.compile(r"^SMS to 1 recipient: 1 credit reserved, not yet spent\s*Transaction "))
        await expect(capture.locator('[data-label="Description"]')).to_have_text(
            re.compile(r"^SMS to 1 recipient\s*Transaction "))
        # The capture names whoever its hold names (test_a_sent_sms_names_its_sender_in_the_log: a person).
        assert await capture.locator('[data-label="By"]').inner_text() == await hold.locator(
            '[data-label="By"]').inner_text()
        # Each row names its transaction, and its time in the tenant's zone (Sydney), with the zone.
        assert re.fullmatch(r"[0-9a-f-]{36}", str(await capture.get_attribute("data-transaction-id")))
        await expect(capture.locator('[data-label="When"]')).to_have_text(SYDNEY_ZONE)
        # A purchase names its invoice, which downloads as its PDF.
        purchases = rows.and_(page.locator('[data-kind="purchase"]'))
        invoice = purchases.first.get_by_role("link", name=re.compile("^Tax invoice INV-"))
        await expect(invoice).to_be_visible()
        await capture.scroll_into_view_if_needed()
        await shot(page, f"app-log-readable-{size(viewport)}")
        async with page.expect_download() as download:
            await invoice.click()
        assert (await download.value).suggested_filename.endswith(".pdf")

        # Filters that match nothing say so and offer to clear them; each choice has its own address.
        await page.get_by_label("Kind").select_option("expiry")
        await expect(page).to_have_url(re.compile(r"kind=expiry"))
        await page.get_by_label("Direction").select_option("out")  # a lapse only ever gives credits back
        await expect(page).to_have_url(re.compile(r"direction=out"))
        await expect(page.locator("#logs-empty")).to_contain_text("No entries match these filters.")
        assert "30 days" not in await page.locator("#logs-empty").inner_text()
        await expect(page.get_by_role("button", name="Clear filters")).to_be_visible()
        await shot(page, f"app-log-empty-filters-{size(viewport)}")

        await page.go_back()
        await expect(page).not_to_have_url(re.compile(r"direction="))
        await expect(page.get_by_label("Direction")).to_have_value("")
        await expect(page.get_by_label("Kind")).to_have_value("expiry")
        await shot(page, f"app-deep-link-back-{size(viewport)}")
        await page.go_forward()
        await expect(page.get_by_label("Direction")).to_have_value("out")

        # A bookmark of the filtered view, opened in another tab of the browser: the same view, signed in.
        bookmark = page.url
        other = await context.new_page()
        await other.goto(bookmark)
        await expect(other.get_by_label("Kind")).to_have_value("expiry")
        await expect(other.get_by_label("Direction")).to_have_value("out")
        await expect(other.locator("#logs-empty")).to_contain_text("No entries match these filters.")
        await other.close()

        await page.get_by_role("button", name="Clear filters").click()
        await expect(page).to_have_url(re.compile(r"/credits/logs$"))
        await expect(page.get_by_label("Account")).to_have_value("")
        await expect(rows.first).to_be_visible()
        await expect(page.get_by_role("button", name="Clear filters")).to_be_hidden()
