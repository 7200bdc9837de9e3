"""The web app's session in a real browser: the access token is renewed with the refresh token before it
expires and after a 401 `token-expired`, so a person at work stays signed in; tabs share the session; a
sign-out ends it on the server and leads back with `next=`."""

from __future__ import annotations

import asyncio
import uuid

from playwright.async_api import Browser, Page, Route, expect

from gateway.web.auth import issue_access_token
from tests.e2e.browser_helpers import browsing, sign_in_page, sign_out
from tests.e2e.conftest import System
from tests.integration.gateway.auth_support import claims_of

ACCESS, EXPIRES, REFRESH = "smsCredits.accessToken", "smsCredits.accessTokenExpiresAt", "smsCredits.refreshToken"


async def _stored(page: Page) -> dict[str, str | None]:
    return await page.evaluate(
        "(keys) => Object.fromEntries(keys.map((k) => [k, localStorage.getItem(k)]))", [ACCESS, EXPIRES, REFRESH]
    )


async def _open_logs(page: Page) -> None:
    await page.goto("/credits/logs")
    await expect(page.get_by_role("heading", name="Last 30 Days Logs")).to_be_visible()


async def test_an_office_user_stays_signed_in_while_the_access_token_is_renewed(system: System, browser: Browser):
    async with browsing(browser, system.gateway_url) as (context, page, _):
        await sign_in_page(page, "ben@acme.test")
        first = await _stored(page)
        assert first[ACCESS] and first[REFRESH]

        # Close to expiry: the next request renews first (one refresh, then the request).
        await page.evaluate("([key]) => localStorage.setItem(key, String(Date.now() + 1000))", [EXPIRES])
        async with page.expect_response("**/api/v1/auth/refresh") as renewal:
            await _open_logs(page)
        assert (await renewal.value).status == 200
        second = await _stored(page)
        assert second[REFRESH] != first[REFRESH] and second[ACCESS] != first[ACCESS]

        # Expired early (a laptop asleep): the server's 401 token-expired is answered by renewing and
        # sending the request again, and the person sees nothing of it.
        sid = uuid.UUID(claims_of(str(second[ACCESS]))["sid"])
        person = claims_of(str(second[ACCESS]))["sub"]
        expired = issue_access_token(person, system.env["JWT_SECRET"], -5, session_id=sid)
        await page.evaluate("([key, token]) => localStorage.setItem(key, token)", [ACCESS, expired])
        async with page.expect_response("**/api/v1/auth/refresh") as renewal:
            await page.goto("/")
            await expect(page.locator("#user-button")).to_be_visible()
        assert (await renewal.value).status == 200
        assert (await _stored(page))[ACCESS] not in (expired, second[ACCESS])

        # Another tab of the same browser is signed in too: one session, shared.
        other = await context.new_page()
        await other.goto("/credits/logs")
        await expect(other.get_by_role("heading", name="Last 30 Days Logs")).to_be_visible()
        await other.close()


async def test_a_renewal_whose_answer_never_reached_the_page_does_not_end_the_session(
    system: System, browser: Browser
):
    async with browsing(browser, system.gateway_url) as (_, page, _):
        await sign_in_page(page, "ben@acme.test")
        before = await _stored(page)
        # The server renews the session, but its answer never reaches the page (a tab closed, a train
        # went into a tunnel): the browser still holds the refresh token the server just replaced.
        renewed_unheard = asyncio.Event()

        async def lose_the_answer(route: Route) -> None:
            await route.fetch()
            renewed_unheard.set()
            await route.abort("connectionreset")

        await page.route("**/api/v1/auth/refresh", lose_the_answer)
        await page.evaluate("([key]) => localStorage.setItem(key, String(Date.now() + 1000))", [EXPIRES])
        await page.goto("/credits/logs")
        await asyncio.wait_for(renewed_unheard.wait(), 10)
        await expect(page.locator("#loading")).to_contain_text("Reload the page to try again.")
        await page.unroute("**/api/v1/auth/refresh")
        assert (await _stored(page))[REFRESH] == before[REFRESH]

        # The next try sends that token again, moments later: the session goes on, not ends as stolen.
        async with page.expect_response("**/api/v1/auth/refresh") as renewal:
            await page.reload()
            await expect(page.get_by_role("heading", name="Last 30 Days Logs")).to_be_visible()
        assert (await renewal.value).status == 200
        assert (await _stored(page))[REFRESH] not in (None, before[REFRESH])
        assert "/signin" not in page.url


async def test_signing_out_ends_the_session_on_the_server_and_keeps_next(system: System, browser: Browser):
    async with browsing(browser, system.gateway_url) as (_, page, _):
        await sign_in_page(page, "cleo@acme.test")
        await _open_logs(page)
        stored = await _stored(page)
        async with page.expect_response("**/api/v1/auth/logout") as logout:
            await sign_out(page)
        assert (await logout.value).status == 204
        assert page.url.endswith("/signin?next=%2Fcredits%2Flogs")
        assert await _stored(page) == {ACCESS: None, EXPIRES: None, REFRESH: None}
        # The refresh token the browser forgot no longer works anywhere.
        answer = await page.request.post(f"{system.gateway_url}/api/v1/auth/refresh",
                                         data={"refresh_token": stored[REFRESH]})
        assert answer.status == 401

        await page.get_by_label("Email", exact=True).fill("cleo@acme.test")
        await page.get_by_label("Password", exact=True).fill("demo-password")
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.get_by_role("heading", name="Last 30 Days Logs")).to_be_visible()


async def test_a_session_ended_elsewhere_leads_to_sign_in_with_next(system: System, browser: Browser):
    async with browsing(browser, system.gateway_url) as (_, page, _):
        await sign_in_page(page, "dan@acme.test")
        stored = await _stored(page)
        # Dan signs this browser out from another device's session list (here: with its refresh token).
        answer = await page.request.post(f"{system.gateway_url}/api/v1/auth/logout",
                                         data={"refresh_token": stored[REFRESH]})
        assert answer.status == 204
        await _open_logs_expecting_sign_in(page)


async def _open_logs_expecting_sign_in(page: Page) -> None:
    await page.goto("/credits/logs")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await expect(page.get_by_text("Your session has ended. Sign in again to continue.")).to_be_visible()
    assert "next=%2Fcredits%2Flogs" in page.url
