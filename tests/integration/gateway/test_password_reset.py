"""Password links: a reset asked for by email (the same 202 whether or not the address has an account,
and rate-limited), a token used once, an hour for a reset and a week for an invitation, kept only as a
hash; and the small page at /set-password that does the same for a person in a browser."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterator

import pytest

from gateway.seed import DEMO_PASSWORD
from tests.conftest import Infra, NewDatabase
from tests.integration.billing.mail_support import Mailbox, start_mailbox
from tests.integration.gateway.onboarding_support import Onboarding, running_gateway

BEN = "ben@acme.test"
RESET, CONFIRM = "/api/v1/auth/password-reset", "/api/v1/auth/password-reset/confirm"
NEW_PASSWORD = "correct horse battery"


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with start_mailbox() as box:
        yield box


@pytest.fixture
async def gateway(infra: Infra, new_database: NewDatabase, exchange_name: str, mailbox: Mailbox,
                  ) -> AsyncIterator[Onboarding]:
    async with running_gateway(infra, new_database, exchange_name, mailbox,
                               PASSWORD_RESET_LIMIT_PER_EMAIL="3/hour") as running:
        yield running


async def test_a_reset_link_is_emailed_and_sets_a_new_password_once(gateway: Onboarding):
    asked = await gateway.call("POST", RESET, {"email": BEN})
    assert asked.status == 202 and asked.body is None
    token = await gateway.link_sent_to(BEN)
    [email] = gateway.mailbox.to(BEN)
    assert "password" in email["Subject"].lower()

    done = await gateway.call("POST", CONFIRM, {"token": token, "password": NEW_PASSWORD})
    assert done.status == 204
    old = await gateway.call("POST", "/api/v1/auth/token", {"email": BEN, "password": DEMO_PASSWORD})
    assert old.status == 401
    await gateway.sign_in(BEN, NEW_PASSWORD)
    again = await gateway.call("POST", CONFIRM, {"token": token, "password": "yet another password"})
    assert again.status == 422 and again.content_type == "application/problem+json"
    assert again.body["type"].endswith("/problems/password-link-invalid") and "already used" in again.body["detail"]
    await gateway.sign_in(BEN, NEW_PASSWORD)


async def test_an_email_with_no_account_is_answered_the_same_and_sends_nothing(gateway: Onboarding):
    before = await gateway.counts()
    unknown = await gateway.call("POST", RESET, {"email": "nobody@nowhere.test"})
    known = await gateway.call("POST", RESET, {"email": BEN})
    assert (unknown.status, unknown.body) == (known.status, known.body) == (202, None)
    assert unknown.headers.keys() - {"Date", "X-Request-ID"} == known.headers.keys() - {"Date", "X-Request-ID"}
    await gateway.link_sent_to(BEN)
    after = await gateway.counts()
    assert (after["email_outbox"], after["password_tokens"]) == (before["email_outbox"] + 1,
                                                                   before["password_tokens"] + 1)
    assert gateway.mailbox.to("nobody@nowhere.test") == []


async def test_an_inactive_person_gets_no_reset_link(gateway: Onboarding):
    master = await gateway.sign_in("master@acme.test")
    people = await gateway.call("GET", "/api/v1/users", headers=master)
    [cleo] = [p for p in people.body if p["name"] == "Cleo Park"]
    assert (await gateway.call("PATCH", f"/api/v1/users/{cleo['id']}", {"active": False}, master)).status == 200
    before = await gateway.counts()
    asked = await gateway.call("POST", RESET, {"email": "cleo@acme.test"})
    assert asked.status == 202
    after = await gateway.counts()
    assert after["password_tokens"] == before["password_tokens"]


async def test_the_token_is_kept_only_as_a_hash(gateway: Onboarding):
    await gateway.call("POST", RESET, {"email": BEN})
    token = await gateway.link_sent_to(BEN)
    async with gateway.pool.acquire() as conn:
        stored = await conn.fetchrow("SELECT * FROM password_tokens")
        outbox = await conn.fetchrow("SELECT * FROM email_outbox")
    assert stored["token_hash"] == hashlib.sha256(token.encode()).digest()
    assert token not in repr(dict(stored)) and token not in repr(dict(outbox))


async def test_a_reset_link_lasts_an_hour_and_an_expired_one_is_refused(gateway: Onboarding):
    await gateway.call("POST", RESET, {"email": BEN})
    token = await gateway.link_sent_to(BEN)
    async with gateway.pool.acquire() as conn:
        lifetime = await conn.fetchval("SELECT expires_at - created_at FROM password_tokens")
        assert 3590 <= lifetime.total_seconds() <= 3610
        await conn.execute("UPDATE password_tokens SET expires_at = now() - interval '1 second'")
    expired = await gateway.call("POST", CONFIRM, {"token": token, "password": NEW_PASSWORD})
    assert expired.status == 422 and "expired" in expired.body["detail"]
    await gateway.sign_in(BEN)  # the password is as it was


async def test_an_invitation_lasts_a_week(gateway: Onboarding):
    added = await gateway.call("POST", "/api/v1/users", {"name": "Ivy Wu", "email": "ivy@acme.test"},
                               await gateway.sign_in("master@acme.test"))
    assert added.status == 201
    async with gateway.pool.acquire() as conn:
        row = await conn.fetchrow("SELECT purpose, expires_at - created_at AS lifetime FROM password_tokens")
    assert row["purpose"] == "invitation" and abs(row["lifetime"].total_seconds() - 7 * 86400) < 10


@pytest.mark.parametrize("password", ["", "nine char", " " * 12 + "short"])
async def test_a_password_under_ten_characters_is_400_and_the_link_still_works(gateway: Onboarding, password: str):
    await gateway.call("POST", RESET, {"email": BEN})
    token = await gateway.link_sent_to(BEN)
    short = await gateway.call("POST", CONFIRM, {"token": token, "password": password})
    assert short.status == 400 and short.content_type == "application/problem+json"
    assert [e["field"] for e in short.body["errors"]] == ["password"]
    await gateway.sign_in(BEN)
    assert (await gateway.call("POST", CONFIRM, {"token": token, "password": NEW_PASSWORD})).status == 204


@pytest.mark.parametrize("body", [{"token": "made-up", "password": NEW_PASSWORD}, {"password": NEW_PASSWORD},
                                  {"token": "x", "password": NEW_PASSWORD, "email": BEN}])
async def test_a_made_up_or_missing_token_is_refused(gateway: Onboarding, body: dict[str, str]):
    answer = await gateway.call("POST", CONFIRM, body)
    assert answer.status in (400, 422) and answer.content_type == "application/problem+json"
    await gateway.sign_in(BEN)


async def test_setting_a_password_uses_up_every_open_link(gateway: Onboarding):
    await gateway.call("POST", RESET, {"email": BEN})
    await gateway.call("POST", RESET, {"email": BEN})
    first, second = await gateway.link_sent_to(BEN, 1), await gateway.link_sent_to(BEN, 2)
    assert first != second
    assert (await gateway.call("POST", CONFIRM, {"token": second, "password": NEW_PASSWORD})).status == 204
    older = await gateway.call("POST", CONFIRM, {"token": first, "password": "an attacker's choice"})
    assert older.status == 422
    await gateway.sign_in(BEN, NEW_PASSWORD)


async def test_reset_requests_are_limited_per_email_whether_or_not_it_has_an_account(gateway: Onboarding):
    for email in (BEN, "nobody@nowhere.test"):
        statuses = [(await gateway.call("POST", RESET, {"email": email})).status for _ in range(3)]
        assert statuses == [202, 202, 202]
        limited = await gateway.call("POST", RESET, {"email": email.upper()})
        assert limited.status == 429 and int(limited.headers["Retry-After"]) > 0
        assert limited.body["type"].endswith("/problems/rate-limited")
    assert len(gateway.mailbox.to(BEN)) <= 3


async def test_the_page_sets_a_password_from_the_link(gateway: Onboarding):
    await gateway.call("POST", RESET, {"email": BEN})
    token = await gateway.link_sent_to(BEN)
    page = await gateway.client.get(f"/set-password?token={token}")
    html = await page.text()
    assert page.status == 200 and BEN in html and 'name="password_again"' in html
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]

    mismatch = await gateway.client.post("/set-password", data={"token": token, "password": NEW_PASSWORD,
                                                                "password_again": NEW_PASSWORD + "!"})
    assert mismatch.status == 422 and "same password twice" in await mismatch.text()
    await gateway.sign_in(BEN)  # nothing changed
    done = await gateway.client.post("/set-password", data={"token": token, "password": NEW_PASSWORD,
                                                            "password_again": NEW_PASSWORD})
    assert done.status == 200 and "Your password is set" in await done.text()
    await gateway.sign_in(BEN, NEW_PASSWORD)
    used = await gateway.client.get(f"/set-password?token={token}")
    assert used.status == 422 and "already used" in await used.text()
    unknown = await gateway.client.get("/set-password")
    assert unknown.status == 422 and "not valid" in await unknown.text()


async def test_setting_a_password_ends_every_session_of_the_person(gateway: Onboarding):
    signed_in = await gateway.sign_in(BEN)
    assert (await gateway.call("GET", "/api/v1/me", headers=signed_in)).status == 200
    await gateway.call("POST", RESET, {"email": BEN})
    token = await gateway.link_sent_to(BEN)
    assert (await gateway.call("POST", CONFIRM, {"token": token, "password": NEW_PASSWORD})).status == 204
    assert (await gateway.call("GET", "/api/v1/me", headers=signed_in)).status == 401
