"""What the browser tests share: launching Debian's Chromium, a watch on every page for broken rules
(a request to another origin, a Content Security Policy violation, a script error), screenshots, and
the steps a person takes in the app."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Locator,
    Page,
    Request,
    ViewportSize,
    expect,
)

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic",
]
DEMO_PASSWORD = "demo-password"
DESKTOP: ViewportSize = {"width": 1280, "height": 860}
PHONE: ViewportSize = {"width": 360, "height": 740}


@dataclass
class Watch:
    """Everything a page did that the app promises never to do."""

    origin: str
    foreign_requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))

    def request(self, request: Request) -> None:
        url = request.url
        if not (url.startswith(self.origin + "/") or url.startswith(("blob:", "data:", "about:"))):
            self.foreign_requests.append(url)

    def _console(self, message: ConsoleMessage) -> None:
        # A failed API call (a 422 the test provokes) is logged by Chromium as an error: not a fault.
        if message.type == "error" and "Failed to load resource" not in message.text:
            self.console_errors.append(f"{message.location.get('url')}: {message.text}")

    def assert_clean(self) -> None:
        assert not self.foreign_requests, f"requests to other origins: {self.foreign_requests}"
        assert not self.console_errors, f"console errors (CSP violations?): {self.console_errors}"
        assert not self.page_errors, f"script errors: {self.page_errors}"


@asynccontextmanager
async def browsing(browser: Browser, base_url: str, viewport: ViewportSize = DESKTOP
                   ) -> AsyncIterator[tuple[BrowserContext, Page, Watch]]:
    """A fresh browser profile (own sessionStorage) with one page, watched; checked when done."""
    context = await browser.new_context(base_url=base_url, viewport=viewport, accept_downloads=True)
    watch = Watch(base_url)
    context.on("request", watch.request)
    context.on("page", watch.attach)
    context.set_default_timeout(10_000)
    try:
        page = await context.new_page()
        yield context, page, watch
    finally:
        await context.close()
    watch.assert_clean()


async def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


async def sign_in_page(page: Page, email: str, screenshot: str | None = None) -> None:
    await page.goto("/signin")
    await page.get_by_label("Email", exact=True).fill(email)
    await page.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
    if screenshot:
        await shot(page, screenshot)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#user-button")).to_be_visible()


async def sign_out(page: Page) -> None:
    await page.locator("#user-button").click()
    await page.get_by_role("menuitem", name="Sign out").click()
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


async def open_credits_box(page: Page) -> Locator:
    """Click your name in the top right-hand corner, select Manage SMS Credits."""
    await page.locator("#user-button").click()
    await page.get_by_role("menuitem", name="Manage SMS Credits").click()
    box = page.get_by_role("dialog", name="Manage SMS Credits")
    await expect(box).to_be_visible()
    await expect(box.locator("table.accounts").first).to_be_visible()
    return box


def account_row(box: Locator, name: str) -> Locator:
    return box.locator("table.accounts tbody tr").filter(
        has=box.page.locator("th", has_text=re.compile(f"^{re.escape(name)}$"))
    )


async def account_numbers(box: Locator, name: str) -> dict[str, int]:
    row = account_row(box, name)
    return {
        field: int((await row.locator(f'[data-field="{field}"]').inner_text()).replace(",", ""))
        for field in ("balance", "held", "available")
    }


async def choose_action(box: Locator, account: str, action: str) -> None:
    """Click the Actions icon next to an account and choose one of its actions."""
    await box.get_by_role("button", name=f"Actions for {account}").click()
    await box.get_by_role("menuitem", name=action).click()


AXE_SCRIPT = ROOT / "tools" / "axe" / "node_modules" / "axe-core" / "axe.min.js"  # make axe-core
AXE_FAILING_IMPACTS = ("serious", "critical")


async def axe_check(page: Page, name: str) -> list[dict[str, Any]]:
    """Run axe-core on the page as it is now and fail on any serious or critical violation, listing each
    rule with the elements at fault. The script is handed to the page through the browser's own evaluation
    (not an inline <script>, which the Content Security Policy rightly refuses)."""
    assert AXE_SCRIPT.exists(), f"{AXE_SCRIPT} is missing: run `make axe-core`"
    if not await page.evaluate("() => typeof window.axe === 'object'"):
        await page.evaluate("() => {\n" + AXE_SCRIPT.read_text(encoding="utf-8") + "\n}")
    results = await page.evaluate("""() => axe.run(document, {
        resultTypes: ["violations"],
        runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]},
    }).then(r => r.violations.map(v => ({
        id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.map(n => ({target: n.target.join(" "), summary: n.failureSummary})),
    })))""")
    faults = [v for v in results if v["impact"] in AXE_FAILING_IMPACTS]
    report = "\n".join(
        f"- {v['id']} ({v['impact']}, {len(v['nodes'])} elements): {v['help']}\n" + "\n".join(
            f"    {n['target']}: {(n['summary'] or '').replace(chr(10), ' ')}" for n in v["nodes"][:8])
        for v in faults
    )
    assert not faults, f"axe found serious or critical accessibility faults on {name}:\n{report}"
    return list(results)


async def fits_width(page: Page) -> bool:
    """Nothing sticks out sideways (no horizontal scrolling on a phone)."""
    return bool(await page.evaluate(
        "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    ))
