"""Issue 17, the usage chart: credits in and out per day for the last 30 days above the log, named for
screen readers, its figures those the public API answers, on a desktop and a phone; and in the printed
report."""

from __future__ import annotations

import re
import uuid
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, ViewportSize, expect

from tests.e2e.browser_helpers import DESKTOP, PHONE, axe_check, browsing, fits_width, shot, sign_in_page
from tests.e2e.conftest import System
from tests.e2e.test_browser import ben_buys_credits

CHART_NAME = "Credits in and out per day, last 30 days"


def _figures(usage: dict[str, Any]) -> list[list[str]]:
    return [[d["date"], f"{d['credits_in']:,}", f"{d['credits_out']:,}"] for d in usage["days"]]


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone-360px"])
async def test_the_log_shows_a_named_chart_of_the_last_30_days_matching_the_api(
    system: System, browser: Browser, sign_in: Any, http: aiohttp.ClientSession, viewport: ViewportSize
) -> None:
    ben = await sign_in("ben@acme.test")
    await ben_buys_credits(ben, http, 100)
    status, usage = await ben.get("/api/v1/usage")
    assert status == 200, usage
    assert len(usage["days"]) == 30 and usage["days"][-1]["credits_in"] >= 100
    status, svg, content_type = await ben.get_bytes("/api/v1/usage.svg")
    assert status == 200 and content_type == "image/svg+xml"
    assert f"<title id=\"usage-chart-title\">{CHART_NAME}</title>" in svg.decode()
    _, document = await ben.get("/api/openapi.json")
    assert {"/api/v1/usage", "/api/v1/usage.svg"} <= set(document["paths"])

    phone = viewport is PHONE
    async with browsing(browser, system.gateway_url, viewport) as (context, page, _watch):
        await sign_in_page(page, "ben@acme.test")
        await page.locator("#user-button").click()
        await page.get_by_role("menuitem", name="View Last 30 Days Logs").click()
        await expect(page.locator("#logs-body tr").first).to_be_visible()

        chart = page.get_by_role("img", name=CHART_NAME)
        await expect(chart).to_be_visible()
        box = await chart.bounding_box()
        assert box is not None and box["width"] >= viewport["width"] * 0.6 and box["height"] > 80
        # The screen reader's table holds the API's figures, day by day.
        rows = page.locator("#usage-figures-body tr")
        await expect(rows).to_have_count(30)
        shown = [[(await cell.inner_text()).strip() for cell in await row.locator("th, td").all()]
                 for row in await rows.all()]
        assert shown == _figures(usage)
        bars = page.locator("#usage-picture g.usage-day")
        await expect(bars).to_have_count(30)
        assert await bars.last.get_attribute("data-in") == str(usage["days"][-1]["credits_in"])
        assert await fits_width(page), await page.evaluate(
            """() => [...document.querySelectorAll("body *")].filter((n) => n.getBoundingClientRect().right
                > document.documentElement.clientWidth + 1).slice(0, 8).map((n) => n.tagName + "#" + n.id + "."
                + n.className + " " + Math.round(n.getBoundingClientRect().right))"""
        )
        await chart.scroll_into_view_if_needed()
        await shot(page, "usage-chart-phone" if phone else "usage-chart-desktop")

        if phone:
            return
        # Credits moved by someone else reach Ben live: the log refreshes, and the chart with it.
        ava = await sign_in("master@acme.test")
        _, accounts = await ava.get("/api/v1/accounts")
        ids = {a["name"]: a["id"] for a in accounts}
        status, moved = await ava.post("/api/v1/transfers", {
            "from_account": ids["Ben Carter"], "to_account": ids["System Credits"], "quantity": 5,
            "accept_terms": True}, headers={"Idempotency-Key": str(uuid.uuid4())})
        assert status == 201, moved
        today = usage["days"][-1]
        await expect(bars.last).to_have_attribute("data-out", str(today["credits_out"] + 5))
        await expect(rows.last.locator("td").last).to_have_text(f"{today['credits_out'] + 5:,}")
        # The chart follows the log's account filter; an account Ben does not manage is answered as unknown.
        async with page.expect_request(re.compile(rf"/api/v1/usage\.svg\?account={ids['Ben Carter']}$")):
            await page.get_by_label("Account", exact=True).select_option(label="Ben Carter")
        await expect(chart).to_be_visible()
        status, problem = await ben.get(f"/api/v1/usage?account={ids['System Credits']}")
        assert status == 404, problem

        async with context.expect_page() as report_info:
            await page.get_by_role("button", name="Print Report").click()
        report = await report_info.value
        await expect(report.get_by_role("img", name=CHART_NAME)).to_be_visible()
        printed = report.locator("#usage-figures tbody tr")
        await expect(printed).to_have_count(30)
        await report.wait_for_function("() => document.adoptedStyleSheets.length > 0")
        await shot(report, "usage-report")
        await axe_check(report, "the print report")
