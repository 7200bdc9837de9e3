"""Credits by lot in the web app, in a real browser against the whole running system, on a desktop and at
phone width: an operator grants promotional credits to Globex's System Credits on the admin page (field
errors in plain words, a retry after a failed answer reusing its Idempotency-Key, what was granted), then
Globex's master sees the credits expiring within 30 days under the account and its credits by expiry, in
spending order with the promotional lot badged and its expiry in Globex's time zone, at an address of its
own. Balances are compared before and after: other tests move Globex's credits too."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from playwright.async_api import Browser, Page, Route, ViewportSize, expect

from tests.e2e.browser_helpers import (
    DESKTOP,
    PHONE,
    account_row,
    axe_check,
    browsing,
    choose_action,
    fits_width,
    shot,
    sign_in_page,
)
from tests.e2e.conftest import Client, System
from tests.e2e.test_purchase_flow import GOOD_CARD, pay, start_purchase
from tests.support import eventually

SIZES = pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
GRANTS = re.compile(r"/api/v1/admin/tenants/[^/]+/grants$")
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sept", "Oct", "Nov", "Dec"]  # en-AU's


def size(viewport: ViewportSize) -> str:
    return "phone" if viewport is PHONE else "desktop"


def credits(n: int) -> str:
    return f"{n:,} credit" + ("" if n == 1 else "s")


def en_au(day: date) -> str:
    """A date as the app writes it ("7 Sept 2026")."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


async def globex(gail: Client, http: aiohttp.ClientSession) -> tuple[str, str, dict[str, Any]]:
    """Globex's tenant, its time zone and its System Credits, holding some paid credits (bought here if
    need be) so that the promotional lot has a paid one to come before."""
    _, me = await gail.get("/api/v1/me")
    _, accounts = await gail.get("/api/v1/accounts")
    [system] = [a for a in accounts if a["kind"] == "system"]
    _, lots = await gail.get(f"/api/v1/accounts/{system['id']}/lots")
    if not any(lot["paid"] and lot["remaining"] > 0 for lot in lots):
        await pay(http, (await start_purchase(gail, system["id"], 100))["checkout_url"], GOOD_CARD)

        async def bought() -> bool:
            _, now = await gail.get(f"/api/v1/accounts/{system['id']}")
            return bool(now["balance"] >= system["balance"] + 100)

        await eventually(bought, timeout=10)
        _, system = await gail.get(f"/api/v1/accounts/{system['id']}")
    return me["tenant"]["id"], me["tenant"]["timezone"], system


class FlakyGrants:
    """The grants API as a bad network would answer: first a 422 naming a field (the message a validator
    wrote), then a 503 (the grant may or may not have gone through), then the real thing. Each request's
    Idempotency-Key is kept."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    async def __call__(self, route: Route) -> None:
        self.keys.append(route.request.headers["idempotency-key"])
        if len(self.keys) == 1:
            await route.fulfill(status=422, content_type="application/problem+json", body=json.dumps({
                "type": "https://errors.test/invalid-request", "title": "Invalid request", "status": 422,
                "detail": "The request does not have the expected shape.",
                "errors": [{"field": "expires_at", "message": "Input should be a valid datetime"}]}))
        elif len(self.keys) == 2:
            await route.fulfill(status=503, content_type="application/problem+json", body=json.dumps({
                "type": "https://errors.test/unavailable", "title": "Unavailable", "status": 503,
                "detail": "The ledger did not answer."}))
        else:
            await route.continue_()


async def grant_on_admin_page(page: Page, tenant: str, account: dict[str, Any], quantity: int, expires_on: date,
                              viewport: ViewportSize) -> FlakyGrants:
    await sign_in_page(page, "ops@platform.test")
    await page.get_by_role("link", name="Grant promotional credits").click()
    await expect(page.get_by_role("heading", name="Grant promotional credits", level=1)).to_be_visible()
    form = page.locator("#grant-form")
    submit = form.get_by_role("button", name="Grant credits")

    # Nothing filled in: each field says what it needs, in words.
    await submit.click()
    await expect(page.locator("#grant-tenant-error")).to_have_text("Choose an organisation.")
    await expect(page.locator("#grant-quantity-error")).to_contain_text("whole number of credits")
    await expect(page.locator("#grant-reason-error")).to_contain_text("Write a reason")
    await expect(form.get_by_label("Organisation")).to_be_focused()

    await form.get_by_label("Organisation").select_option(value=tenant)
    await expect(form.get_by_label("Organisation").locator("option:checked")).to_have_text("Globex")
    await expect(form.get_by_label("Account").locator(f'option[value="{account["id"]}"]')).to_have_text(
        re.compile(r"^System Credits \([\d,]+ credits?\)$"))
    await form.get_by_label("Account").select_option(value=account["id"])
    await form.get_by_label("Quantity (credits)").fill(str(quantity))
    await form.get_by_label("Expires on").fill(expires_on.isoformat())
    await form.get_by_label("Reason").fill("Spring promotion")

    flaky = FlakyGrants()
    await page.route(GRANTS, flaky)
    await submit.click()  # the API names a field: its message is the page's own
    await expect(page.locator("#grant-expires-error")).to_have_text(
        "Choose a date from today on, or leave it empty for credits that never expire.")
    await expect(form.get_by_label("Expires on")).to_have_attribute("aria-invalid", "true")
    await submit.click()  # no good answer: it may have gone through, so the same key goes again
    await expect(form.locator('[data-error-for="form"]')).to_contain_text("it will not grant twice")
    await submit.click()
    result = page.locator("#grant-result")
    await expect(result).to_contain_text(f"Granted {quantity:,} promotional credits to Globex (System Credits)")
    await expect(result).to_contain_text(f"they expire {en_au(expires_on)}, 11:59")
    await expect(result).to_contain_text("Reason: Spring promotion")
    await expect(result).to_be_focused()
    await expect(form.get_by_label("Quantity (credits)")).to_have_value("")
    assert len(flaky.keys) == 3 and flaky.keys[0] != flaky.keys[1] and flaky.keys[1] == flaky.keys[2], flaky.keys
    assert await fits_width(page)
    await shot(page, f"admin-grant-{size(viewport)}")
    await axe_check(page, f"admin grant ({size(viewport)})")
    return flaky


@SIZES
async def test_an_operators_grant_shows_as_promotional_credits_expiring_in_the_masters_box(
    system: System, browser: Browser, sign_in: Any, http: aiohttp.ClientSession, viewport: ViewportSize
) -> None:
    gail = await sign_in("master@globex.test")
    tenant, zone, before = await globex(gail, http)
    quantity = 40 if viewport is DESKTOP else 15
    expires_on = datetime.now(ZoneInfo(zone)).date() + timedelta(days=3)

    async with browsing(browser, system.gateway_url, viewport) as (_, page, _watch):
        await grant_on_admin_page(page, tenant, before, quantity, expires_on, viewport)

    _, after = await gail.get(f"/api/v1/accounts/{before['id']}")
    assert after["balance"] == before["balance"] + quantity  # granted once, whatever the retries
    assert after["expiring_within_30_days"] >= before["expiring_within_30_days"] + quantity
    _, lots = await gail.get(f"/api/v1/accounts/{before['id']}/lots")
    held = [lot for lot in lots if lot["remaining"] > 0]

    async with browsing(browser, system.gateway_url, viewport) as (_, page, _watch):
        await sign_in_page(page, "master@globex.test")
        await page.goto("/credits")
        box = page.get_by_role("dialog", name="Manage SMS Credits")
        row = account_row(box, "System Credits")
        await expect(row).to_have_count(1)
        note = box.locator(f'tr[data-note-for="{before["id"]}"]')
        await expect(note.locator('[data-field="expiring"]')).to_have_text(
            f"{credits(after['expiring_within_30_days'])} expiring within 30 days")
        assert await fits_width(page)
        await shot(page, f"lots-accounts-{size(viewport)}")
        await axe_check(page, f"accounts with expiring credits ({size(viewport)})")

        await choose_action(box, "System Credits", "View Credits by Expiry")
        await expect(page).to_have_url(re.compile(rf"/credits/lots\?account={before['id']}$"))
        panel = box.locator("#panel-lots")
        await expect(panel.get_by_role("heading", name="Credits by expiry: System Credits")).to_be_focused()
        await expect(panel).to_contain_text("Credits are used promotional first, then those expiring soonest.")
        rows = panel.locator("#lots-body tr")
        await expect(rows).to_have_count(len(held))
        # The API's order, which is the spending order: every promotional lot before any paid one.
        assert await rows.evaluate_all("rows => rows.map(r => r.dataset.lotId)") == [lot["id"] for lot in held]
        first = rows.first
        await expect(first.locator("th")).to_contain_text("Promotional grant")
        await expect(first.locator(".badge")).to_have_text("Promotional")
        promotional = [lot["paid"] is False for lot in held]
        assert promotional == sorted(promotional, reverse=True) and promotional[-1] is False, held
        await expect(rows.nth(promotional.index(False)).locator(".badge")).to_have_count(0)  # a paid lot
        await expect(rows.nth(promotional.index(False)).locator("th")).not_to_contain_text("Promotional")
        ours = rows.filter(has=page.locator("time", has_text=f"{en_au(expires_on)}, 11:59")).filter(
            has=page.locator('[data-field="remaining"]', has_text=re.compile(rf"^{quantity:,}")))
        await expect(ours.first.locator(".badge")).to_have_text("Promotional")
        never = [lot for lot in held if lot["expires_at"] is None]
        if never:
            await expect(panel.locator("#lots-body").get_by_text("Never expires")).to_have_count(len(never))
        assert await fits_width(page)
        await shot(page, f"lots-panel-{size(viewport)}")
        await axe_check(page, f"credits by expiry ({size(viewport)})")

        # Its own address: a reload (or a bookmark) opens the same panel; Back returns to the accounts.
        await page.reload()
        await expect(panel.get_by_role("heading", name="Credits by expiry: System Credits")).to_be_visible()
        await expect(rows).to_have_count(len(held))
        await page.go_back()
        await expect(page).to_have_url(re.compile(r"/credits$"))
        await expect(box.locator("#panel-accounts")).to_be_visible()


async def test_only_operators_list_the_tenants_and_a_tenants_accounts_with_their_balances(
    sign_in: Any, http: aiohttp.ClientSession
) -> None:
    olive, gail = await sign_in("ops@platform.test"), await sign_in("master@globex.test")
    tenant, zone, system = await globex(gail, http)

    status, tenants = await olive.get("/api/v1/admin/tenants")
    assert status == 200, tenants
    [listed] = [t for t in tenants if t["id"] == tenant]
    assert (listed["name"], listed["credit_mode"], listed["timezone"]) == ("Globex", "shared", zone)
    assert [t["name"].lower() for t in tenants] == sorted(t["name"].lower() for t in tenants)

    status, accounts = await olive.get(f"/api/v1/admin/tenants/{tenant}/accounts")
    assert status == 200, accounts
    [account] = accounts  # a shared tenant has System Credits only
    assert (account["id"], account["kind"], account["name"]) == (system["id"], "system", "System Credits")
    assert account["balance"] >= system["balance"] and "expiring_within_30_days" in account

    assert (await olive.get("/api/v1/admin/tenants/00000000-0000-0000-0000-000000000000/accounts"))[0] == 404
    for path in ("/api/v1/admin/tenants", f"/api/v1/admin/tenants/{tenant}/accounts"):
        refused, problem = await gail.get(path)
        assert refused == 403 and "operators" in problem["detail"], problem
