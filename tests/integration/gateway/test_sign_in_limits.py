"""Sign-in limits per address and per account: people behind one office address do not lock one another
out, failures lock the account (not the address), X-Forwarded-For is believed only from a trusted proxy,
and limited answers carry the RateLimit-* header fields (with Retry-After on a 429)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from common.db import connect
from gateway.seed import PEOPLE
from tests.conftest import Infra, NewDatabase
from tests.integration.gateway.auth_support import Gateway, running_gateway

TENANT_PEOPLE = [p.email for p in PEOPLE if p.role != "operator"]


@pytest.fixture
async def gateway(infra: Infra, new_database: NewDatabase, exchange_name: str) -> AsyncIterator[Gateway]:
    async with running_gateway(infra, new_database, exchange_name, SIGN_IN_LIMIT_PER_EMAIL="4/minute",
                               LOCKOUT_FAILURES="3", LOCKOUT_SECONDS="600", WRITE_LIMIT_PER_USER="3/minute",
                               TRUSTED_PROXIES="10.0.0.0/8, ::1") as running:
        yield running


def _rate_limit(headers: dict[str, str]) -> tuple[int, int, int]:
    return int(headers["RateLimit-Limit"]), int(headers["RateLimit-Remaining"]), int(headers["RateLimit-Reset"])


async def test_failures_lock_the_account_not_the_address_everyone_else_there_signs_in(gateway: Gateway):
    for _ in range(3):
        assert (await gateway.sign_in("ben@acme.test", "wrong"))[0] == 401
    status, headers, problem = await gateway.sign_in("ben@acme.test")  # the right password, too late
    assert status == 429 and int(headers["Retry-After"]) > 0
    assert problem["status"] == 429 and str(problem["type"]).endswith("/rate-limited")
    assert _rate_limit(headers)[1] == 0 and _rate_limit(headers)[2] == int(headers["Retry-After"])
    # The office goes on: every other person, from the same address, several times each.
    for email in TENANT_PEOPLE:
        if email != "ben@acme.test":
            for _ in range(2):
                assert (await gateway.sign_in(email))[0] == 200, email
    assert (await gateway.sign_in("BEN@acme.test "))[0] == 429  # the same account whatever the spelling


async def test_an_account_is_limited_tightly_even_when_every_attempt_succeeds(gateway: Gateway):
    remaining = []
    for _ in range(4):
        status, headers, _ = await gateway.sign_in("cleo@acme.test")
        assert status == 200
        limit, left, reset = _rate_limit(headers)
        assert limit == 4 and 0 < reset <= 60
        remaining.append(left)
    # The tightest of the address's, the account's attempts and the account's failures is reported.
    assert remaining == [3, 2, 1, 0]
    status, headers, _ = await gateway.sign_in("cleo@acme.test")
    assert status == 429 and 0 < int(headers["Retry-After"]) <= 60
    assert (await gateway.sign_in("dan@acme.test"))[0] == 200  # another account is not affected


async def test_the_address_limit_counts_every_account_from_one_address(
        infra: Infra, new_database: NewDatabase, exchange_name: str):
    async with running_gateway(infra, new_database, exchange_name, SIGN_IN_LIMIT_PER_IP="5/minute") as gateway:
        for email in TENANT_PEOPLE:
            assert (await gateway.sign_in(email))[0] == 200
        status, headers, _ = await gateway.sign_in("ops@platform.test")
        assert status == 429 and "Retry-After" in headers and _rate_limit(headers)[:2] == (5, 0)
        # X-Forwarded-For from a peer that is no trusted proxy is the client's own say: ignored.
        status, _, _ = await gateway.sign_in("ops@platform.test", headers={"X-Forwarded-For": "203.0.113.9"})
        assert status == 429


async def test_x_forwarded_for_is_believed_from_a_trusted_proxy_read_from_the_right(
        infra: Infra, new_database: NewDatabase, exchange_name: str):
    async with running_gateway(infra, new_database, exchange_name, SIGN_IN_LIMIT_PER_IP="2/minute",
                               TRUSTED_PROXIES="127.0.0.1, 10.0.0.0/8") as gateway:
        office = {"X-Forwarded-For": "198.51.100.7"}
        assert (await gateway.sign_in("ben@acme.test", headers=office))[0] == 200
        assert (await gateway.sign_in("cleo@acme.test", headers=office))[0] == 200
        assert (await gateway.sign_in("dan@acme.test", headers=office))[0] == 429
        # What the client wrote left of the address our proxies saw does not make it another client.
        spoofed = {"X-Forwarded-For": "192.0.2.1, 198.51.100.7, 10.1.2.3"}
        assert (await gateway.sign_in("dan@acme.test", headers=spoofed))[0] == 429
        home = {"X-Forwarded-For": "192.0.2.1, 203.0.113.20, 10.1.2.3"}
        status, _, _ = await gateway.sign_in("dan@acme.test", headers=home | {"User-Agent": "at home"})
        assert status == 200
        conn = await connect(gateway.dsn)
        try:
            ip = await conn.fetchval("SELECT ip FROM sessions WHERE user_agent = 'at home'")
        finally:
            await conn.close()
        assert ip == "203.0.113.20"


async def test_writes_carry_their_limit_and_the_429_says_when_to_come_back(gateway: Gateway):
    tokens = await gateway.tokens("master@acme.test")
    headers = {"Authorization": f"Bearer {tokens['access_token']}", "Idempotency-Key": "k"}
    seen = []
    for _ in range(3):
        response = await gateway.client.post("/api/v1/transfers", json={"nonsense": True}, headers=headers)
        assert response.status == 400
        seen.append(_rate_limit(dict(response.headers))[:2])
    assert seen == [(3, 2), (3, 1), (3, 0)]
    response = await gateway.client.post("/api/v1/transfers", json={"nonsense": True}, headers=headers)
    assert response.status == 429
    assert _rate_limit(dict(response.headers))[1] == 0
    assert int(response.headers["RateLimit-Reset"]) == int(response.headers["Retry-After"]) > 0
    # Reads are not limited, and say nothing of it.
    response = await gateway.client.get("/api/v1/me", headers=headers)
    assert response.status == 200 and "RateLimit-Limit" not in response.headers


async def test_refreshes_count_against_the_address_and_say_so(gateway: Gateway):
    tokens = await gateway.tokens("ben@acme.test")
    status, headers, _ = await gateway.refresh(tokens["refresh_token"])
    assert status == 200 and _rate_limit(headers)[0] == 1000
