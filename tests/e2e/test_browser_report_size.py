"""Print Report at any size (issue 17): a log longer than the old 2,000-row limit opens from the log page as a
report with every row (it used to be refused with 422 and "The report could not be opened"), and the same
report as PDF comes through the gateway with many pages. At desktop and phone sizes."""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from playwright.async_api import Browser, ViewportSize, expect
from pypdf import PdfReader

from common import accounts
from gateway.seed import GLOBEX, demo_id
from tests.e2e.browser_helpers import DESKTOP, PHONE, browsing, fits_width, shot, sign_in_page
from tests.e2e.conftest import System

ROWS = 2100  # past the old limit of 2,000
GAIL = demo_id("user/master@globex.test")
PREFIX = "E2E-REPORT-SIZE-"


@pytest.fixture(scope="module")
async def long_log(system: System) -> AsyncIterator[None]:
    """ROWS movements of Gail's own account in the last day, written straight into reporting's log; taken
    out again afterwards, so the other tests of the shared system see the log as it was."""
    code = accounts.user_code(GAIL)
    account = accounts.account_id(GLOBEX.id, code)
    now = datetime.now(UTC)
    conn = await asyncpg.connect(system.database_url("reporting"))
    try:
        await conn.execute("INSERT INTO log_accounts (account_id, tenant_id, account_code) VALUES ($1, $2, $3) "
                           "ON CONFLICT DO NOTHING", account, GLOBEX.id, code)
        await conn.copy_records_to_table(
            "log_entries",
            records=[(uuid.uuid4(), GLOBEX.id, account, code, 10_000_000 + n, uuid.uuid4(),
                      now - timedelta(hours=20) + timedelta(seconds=n), "in", 1, "transfer", 500 + n, "system",
                      GAIL, f"{PREFIX}{n:05d}", None, False) for n in range(1, ROWS + 1)],
            columns=["id", "tenant_id", "account_id", "account_code", "ledger_seq", "transaction_id", "occurred_at",
                     "direction", "quantity", "kind", "balance_after", "counterparty_code", "actor_user_id",
                     "reference", "note", "reservation"],
        )
        yield
    finally:
        await conn.execute("DELETE FROM log_entries WHERE tenant_id = $1 AND reference LIKE $2", GLOBEX.id,
                           PREFIX + "%")
        await conn.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone-360px"])
async def test_a_report_longer_than_the_old_limit_opens_with_every_row_and_as_a_many_page_pdf(
    system: System, browser: Browser, long_log: None, viewport: ViewportSize
) -> None:
    width = "phone" if viewport is PHONE else "desktop"
    async with browsing(browser, system.gateway_url, viewport) as (context, page, _watch):
        await sign_in_page(page, "master@globex.test")
        await page.locator("#user-button").click()
        await page.get_by_role("menuitem", name="View Last 30 Days Logs").click()
        await expect(page.locator("#logs-body tr").first).to_be_visible()

        async with context.expect_page() as report_info:
            await page.get_by_role("button", name="Print Report").click()
        report = await report_info.value
        rows = report.locator("#rows tbody tr")
        await expect(rows.filter(has_text=f"{PREFIX}{ROWS:05d}")).to_have_count(1, timeout=20_000)
        await expect(rows.filter(has_text=PREFIX)).to_have_count(ROWS)
        await expect(report.locator("#totals")).to_contain_text("Gail Stone")
        await expect(page.locator("#logs-error")).to_be_hidden()
        if viewport is PHONE:
            # The page fits the phone; the movements keep readable columns and scroll sideways in their box.
            assert await fits_width(report)
            date_cell = report.locator("#rows tbody tr td").first
            assert await date_cell.evaluate("(cell) => cell.scrollWidth <= cell.clientWidth + 1")
        # A picture of 2,100 rows is taller than a screenshot may be: the middle rows are hidden for it.
        await report.evaluate("""() => document.querySelectorAll('#rows tbody tr').forEach(
            (row, i, all) => { if (i >= 5 && i < all.length - 5) row.style.display = 'none'; })""")
        await shot(report, f"report-size-first-and-last-rows-{width}")

        # The same report as PDF, through the gateway as the app asks it (the app's own token).
        if viewport is DESKTOP:
            token = await page.evaluate("() => localStorage.getItem('smsCredits.accessToken')")
            answer = await context.request.get("/api/v1/logs/report?format=pdf&days=1",
                                               headers={"Authorization": f"Bearer {token}"})
            assert answer.status == 200, (await answer.text())[:300]
            pages = PdfReader(io.BytesIO(await answer.body())).pages
            assert len(pages) > 10
            text = pages[-1].extract_text()
            # A reference wider than its column wraps onto a second line.
            assert f"{PREFIX}{ROWS:05d}" in "".join(text.split()) and f"{len(pages)} /" in text
