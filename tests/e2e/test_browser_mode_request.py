"""The client change request in a real browser (issue 17, "What to build" 6): Ava, Acme's master, asks
from the Manage SMS Credits box to switch Acme's credit mode, with a reason; Olive, a platform operator,
approves it with a note on the operators' page; Ava's open box then shows the new mode (the live stream
tells it). Done on a desktop (individual -> shared) and at phone width (shared -> individual: Acme ends
as it began, for the tests that follow)."""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import Browser, Page, ViewportSize, expect

from tests.e2e.browser_helpers import DEMO_PASSWORD, DESKTOP, PHONE, browsing, fits_width, open_credits_box, shot
from tests.e2e.browser_helpers import sign_in_page as sign_in_to_app
from tests.e2e.conftest import System

ADMIN_PAGE = "/admin/credit-mode-requests"
MODES = {"shared": "Shared System Credits", "individual": "Individual User SMS Credits"}


async def sign_in_to_admin_page(page: Page) -> None:
    """Olive opens the operators' page signed out: it sends her to sign in, then back."""
    await page.goto(ADMIN_PAGE)
    await page.wait_for_url(re.compile(r"/signin\?next="))
    await page.get_by_label("Email", exact=True).fill("ops@platform.test")
    await page.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(re.compile(re.escape(ADMIN_PAGE) + "$"))
    await expect(page.get_by_role("heading", name="Credit mode requests", level=1)).to_be_visible()


async def acme_mode(sign_in: Any) -> str:
    _, me = await (await sign_in("master@acme.test")).get("/api/v1/me")
    return str(me["tenant"]["credit_mode"])


async def restore_acme(system: System, sign_in: Any) -> None:
    """Whatever happened above, Acme is individual again and has no request waiting."""
    olive = await sign_in("ops@platform.test")
    _, pending = await olive.get("/api/v1/credit-mode-requests?status=pending")
    for request in pending:
        await olive.post(f"/api/v1/admin/credit-mode-requests/{request['id']}/reject", {"note": "Test clean-up"})
    _, me = await (await sign_in("master@acme.test")).get("/api/v1/me")
    async with olive.session.put(f"{system.gateway_url}/api/v1/admin/tenants/{me['tenant']['id']}/credit-mode",
                                 json={"mode": "individual"},
                                 headers={"Authorization": f"Bearer {olive.token}"}) as answer:
        assert answer.status == 200, await answer.text()


async def ask_approve_and_see(browser: Browser, system: System, viewport: ViewportSize, size: str,
                              wanted: str) -> None:
    async with browsing(browser, system.gateway_url, viewport) as (_, ava, _watch):
        await sign_in_to_app(ava, "master@acme.test")
        box = await open_credits_box(ava)
        section = box.get_by_role("region", name="Credit mode")
        current = "individual" if wanted == "shared" else "shared"
        await expect(section.locator("#mode-request-current")).to_have_text(
            f"Your organisation uses {MODES[current]}.")

        # Asking needs a reason: without one, the field says so and nothing is sent.
        await section.get_by_role("button", name=f"Ask to switch to {MODES[wanted]}").click()
        form = section.get_by_role("form", name=f"Ask to switch to {MODES[wanted]}")
        await form.get_by_role("button", name="Send request").click()
        await expect(form.locator("#mode-request-reason-error")).to_contain_text("Say why")
        await expect(form.get_by_label(re.compile("^Reason"))).to_be_focused()
        await form.get_by_label(re.compile("^Reason")).fill("Our agents now share one budget.")
        await expect(form.locator("#mode-request-reason-error")).to_be_hidden()
        await shot(ava, f"mode-request-ask-{size}")
        async with ava.expect_request(re.compile(r"/api/v1/credit-mode-requests$")) as sent:
            await form.get_by_role("button", name="Send request").click()
        assert (await sent.value).headers.get("idempotency-key")
        status = section.locator("#mode-request-status")
        await expect(status).to_contain_text(f"Your request to switch to {MODES[wanted]}")
        await expect(status).to_contain_text("waiting for a platform operator's decision")
        await expect(section.get_by_role("button", name=re.compile("^Ask to switch"))).to_have_count(0)
        await status.scroll_into_view_if_needed()  # the box scrolls on its own; show the news
        await shot(ava, f"mode-request-sent-{size}")
        assert await fits_width(ava)

        # Olive approves it, with a note, on the operators' page.
        async with browsing(browser, system.gateway_url, DESKTOP) as (_, olive, _olive_watch):
            await sign_in_to_admin_page(olive)
            card = olive.get_by_role("form", name=f"Acme Realty: switch to {MODES[wanted]}")
            await expect(card).to_contain_text("Our agents now share one budget.")
            await expect(card).to_contain_text("Asked by Ava Nguyen")
            await card.get_by_label(re.compile("^Note to the master")).fill("Switched as asked.")
            if size == "desktop":
                await shot(olive, "mode-request-admin")
            await card.get_by_role("button", name="Approve").click()
            await expect(olive.locator("#requests-status")).to_have_text(
                f"Acme Realty's request was approved: it now uses {MODES[wanted]}. The master is told by email.")
            await expect(card).to_have_count(0)
            await expect(olive.locator("#decided-body")).to_contain_text("Approved by Olive Ops")
            await expect(olive.locator("#decided-body")).to_contain_text("Switched as asked.")
            if size == "desktop":
                await shot(olive, "mode-request-admin-decided")
                # The app's home leads an operator to this page.
                await olive.goto("/")
                await olive.get_by_role("link", name="Credit mode requests").click()
                await expect(olive.get_by_role("heading", name="Credit mode requests", level=1)).to_be_visible()

        # Ava's open box follows: the new mode, and the decision with Olive's note.
        await expect(section.locator("#mode-request-current")).to_have_text(
            f"Your organisation uses {MODES[wanted]}.", timeout=15_000)
        await expect(status).to_contain_text("was approved on")
        await expect(status).to_contain_text("Note: Switched as asked.")
        await expect(section.get_by_role("button", name=f"Ask to switch to {MODES[current]}")).to_be_visible()
        await status.scroll_into_view_if_needed()  # the box scrolls on its own; show the news
        await shot(ava, f"mode-request-approved-{size}")
        assert await fits_width(ava)


async def test_ava_asks_for_a_switch_olive_approves_and_avas_box_shows_the_new_mode(
    system: System, browser: Browser, sign_in: Any
) -> None:
    assert await acme_mode(sign_in) == "individual"
    try:
        await ask_approve_and_see(browser, system, DESKTOP, "desktop", "shared")
        assert await acme_mode(sign_in) == "shared"
        await ask_approve_and_see(browser, system, PHONE, "phone", "individual")
        assert await acme_mode(sign_in) == "individual"
    finally:
        await restore_acme(system, sign_in)
