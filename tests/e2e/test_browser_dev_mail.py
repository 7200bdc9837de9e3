"""The emails a newcomer running `make run` can see: the mail catcher (fakes/mailcatcher) takes what the
gateway and billing send, and the gateway shows it at /dev/mail, on this machine only and only when
DEV_MAIL_DIR is set (production has no such page).

Beside the system: the mail catcher and a second gateway worker set up as `make run` sets them up
(DEV_MAIL_DIR, SMTP_* at the catcher), sharing the system's database as a second worker would."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import aiohttp
import aiosmtplib
import pytest
from playwright.async_api import Browser, expect

from common.contracts import mailbox
from tests.e2e.browser_helpers import DESKTOP, PHONE, axe_check, browsing, fits_width, shot, sign_in_page
from tests.e2e.conftest import Client, System
from tests.support import free_port

PDF = b"%PDF-1.4\n% a tax invoice as billing attaches it\n%%EOF\n"


@dataclass
class DevMail:
    url: str  # the gateway that shows /dev/mail
    folder: Path
    smtp_port: int


@pytest.fixture
async def dev_mail(system: System, tmp_path: Path) -> AsyncIterator[DevMail]:
    folder, smtp_port, port = tmp_path / "mail", free_port(), free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**system.env, "DEV_MAIL_DIR": str(folder), "MAILCATCHER_PORT": str(smtp_port), "GATEWAY_PORT": str(port),
           "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp_port), "SMTP_SECURITY": "none",
           "EMAIL_POLL_SECONDS": "0.2", "PUBLIC_BASE_URL": url, "DB_POOL_SIZE": "2"}
    async with (system.beside("mailcatcher", "fakes.mailcatcher", env),
                system.beside("gateway-dev-mail", "gateway", env, port)):
        yield DevMail(url, folder, smtp_port)


async def _caught(folder: Path, count: int) -> list[str]:
    for _ in range(100):
        names = mailbox.names(folder)
        if len(names) >= count:
            return names
        await asyncio.sleep(0.2)
    raise AssertionError(f"{count} emails were not caught: {mailbox.names(folder)}")


async def test_a_newcomer_reads_the_invitation_and_the_invoice_the_system_sent(
    system: System, dev_mail: DevMail, browser: Browser, http: aiohttp.ClientSession
) -> None:
    # An operator onboards a tenant: the gateway's invitation to its first master goes to the catcher. (A new
    # tenant, so Acme's people, which other tests count, stay as they are.)
    status, body = await Client(http, dev_mail.url).post(
        "/api/v1/auth/token", {"email": "ops@platform.test", "password": "demo-password"})
    assert status == 200, body
    operator = Client(http, dev_mail.url, body["access_token"])
    unique = uuid.uuid4().hex[:8]
    invitee = f"quinn-{unique}@devmail.test"
    status, created = await operator.post(
        "/api/v1/admin/tenants",
        {"name": f"Devmail {unique}", "legal_name": "Devmail Pty Ltd", "abn": "51 824 753 556",
         "timezone": "Australia/Sydney", "credit_mode": "individual",
         "master": {"name": "Quinn Devmail", "email": invitee}},
        headers={"Idempotency-Key": unique})
    assert status == 201, created
    # A tax invoice as billing sends it: a PDF attached.
    invoice = EmailMessage()
    invoice["From"], invoice["To"], invoice["Subject"] = "no-reply@sms-credits.example", invitee, "Tax invoice INV-7"
    invoice.set_content("Hello,\n\nYour tax invoice is attached.")
    invoice.add_attachment(PDF, maintype="application", subtype="pdf", filename="INV-7.pdf")
    await aiosmtplib.send(invoice, hostname="127.0.0.1", port=dev_mail.smtp_port, start_tls=False, use_tls=False)

    async def caught_for_invitee() -> None:
        for _ in range(100):
            raws = [mailbox.read(dev_mail.folder, n) or b"" for n in mailbox.names(dev_mail.folder)]
            if sum(invitee.encode() in raw for raw in raws) >= 2:
                return
            await asyncio.sleep(0.2)
        raise AssertionError("the invitation and the invoice were not both caught")

    await caught_for_invitee()

    # The system's own gateway (no DEV_MAIL_DIR, as in production) points its operators nowhere of the kind.
    async with browsing(browser, system.gateway_url, DESKTOP) as (_, page, _watch):
        await sign_in_page(page, "ops@platform.test")
        await expect(page.get_by_role("link", name="Credit mode requests")).to_be_visible()
        await expect(page.get_by_role("link", name=re.compile("Emails sent"))).to_have_count(0)

    async with browsing(browser, dev_mail.url, DESKTOP) as (_, page, _watch):
        # An operator of `make run` finds the caught emails from the app's home page.
        await sign_in_page(page, "ops@platform.test")
        await page.get_by_role("link", name="Emails sent (caught on this machine)").click()
        await expect(page.get_by_role("heading", name="Caught emails")).to_be_visible()
        invitation_link = page.locator(".mail-list [role=listitem]").filter(has_text=invitee).get_by_role(
            "link", name=re.compile("You are invited"))
        await expect(invitation_link).to_be_visible()
        await shot(page, "devmail-list-desktop")
        await axe_check(page, "/dev/mail (desktop)")

        await invitation_link.click()
        await expect(page.get_by_role("heading", name=re.compile("You are invited"))).to_be_visible()
        await expect(page.get_by_text(invitee)).to_be_visible()
        await expect(page.get_by_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$"))).to_be_visible()
        set_password = page.get_by_role("link", name=re.compile("set-password"))
        await shot(page, "devmail-invitation-desktop")
        await set_password.click()
        await expect(page.get_by_text(invitee)).to_be_visible()  # the link opens the invitee's own page
        await shot(page, "devmail-set-password-desktop")

        await page.goto("/dev/mail")
        invoice_item = page.locator(".mail-list [role=listitem]").filter(has_text=invitee)
        await invoice_item.get_by_role("link", name="Tax invoice INV-7").click()
        await expect(page.get_by_role("heading", name="Tax invoice INV-7")).to_be_visible()
        await shot(page, "devmail-invoice-desktop")
        await axe_check(page, "an email on /dev/mail (desktop)")
        async with page.expect_download() as downloading:
            await page.get_by_role("link", name="INV-7.pdf").click()
        download = await downloading.value
        assert download.suggested_filename == "INV-7.pdf"
        saved = await download.path()
        assert await asyncio.to_thread(Path(saved).read_bytes) == PDF

    async with browsing(browser, dev_mail.url, PHONE) as (_, page, _watch):
        await page.goto("/dev/mail")
        await expect(page.locator(".mail-list [role=listitem]").filter(has_text=invitee).first).to_be_visible()
        assert await fits_width(page)
        await shot(page, "devmail-list-phone")
        await axe_check(page, "/dev/mail (phone)")
        await page.locator(".mail-list [role=listitem]").filter(has_text=invitee).get_by_role(
            "link", name=re.compile("You are invited")).click()
        await expect(page.get_by_role("link", name=re.compile("set-password"))).to_be_visible()
        assert await fits_width(page)  # the long link wraps
        await shot(page, "devmail-invitation-phone")
        await axe_check(page, "an email on /dev/mail (phone)")


async def test_the_page_exists_only_where_make_run_asks_and_only_for_this_machine(
    system: System, dev_mail: DevMail, http: aiohttp.ClientSession
) -> None:
    # The system's own gateway has no DEV_MAIL_DIR, as production has none: no such page.
    async with http.get(f"{system.gateway_url}/dev/mail") as response:
        assert response.status == 404
    # Through a proxy (someone else's browser), the caught emails are refused with a problem.
    async with http.get(f"{dev_mail.url}/dev/mail", headers={"X-Forwarded-For": "203.0.113.9",
                                                             "Accept": "application/json"}) as response:
        assert response.status == 403
        assert response.content_type == "application/problem+json"
    # Another proxy's header, or a page elsewhere whose name was rebound to 127.0.0.1 (its name is the Host).
    for headers in ({"Forwarded": "for=203.0.113.9"}, {"X-Real-IP": "203.0.113.9"},
                    {"Host": f"rebound.example:{dev_mail.url.rsplit(':', 1)[1]}"}):
        async with http.get(f"{dev_mail.url}/dev/mail", headers=headers) as response:
            assert response.status == 403, headers
    async with http.get(f"{dev_mail.url}/dev/mail", headers={"Host": "localhost"}) as response:
        assert response.status == 200
    async with http.get(f"{dev_mail.url}/dev/mail/../../etc/passwd") as response:
        assert response.status == 404
    async with http.get(f"{dev_mail.url}/dev/mail/nothing.eml") as response:
        assert response.status == 404
    async with http.get(f"{dev_mail.url}/dev/mail") as response:
        assert response.status == 200 and response.headers["Cache-Control"] == "no-store"
