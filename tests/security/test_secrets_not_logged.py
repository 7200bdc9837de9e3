"""No secret is ever logged: after everything this run did (the access matrix, the hostile input,
schemathesis' thousands of requests, and the sign-ins, payments and service sign-ins below), no log
line of any service holds a password, a token, a key, a password hash or a card number.

It runs last in this folder (alphabetical order) and reads the whole run's logs, which the session's
system writes to test-artifacts/security-logs, emptied when it starts."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import aiohttp

from tests.e2e.test_purchase_flow import DECLINED_CARD, GOOD_CARD
from tests.security.conftest import DEMO_PASSWORD, ISSUED, LOGS, SERVICE_CLIENT, AttackedSystem, Caller, new_key
from tests.security.leaks import leaks

WRONG_PASSWORD = f"not-the-password-{uuid.uuid4().hex}"
WRONG_CLIENT_SECRET = f"not-the-client-secret-{uuid.uuid4().hex}"


async def _post(http: aiohttp.ClientSession, url: str, body: object, caller: Caller | None = None) -> int:
    headers = caller.headers(new_key()) if caller else {}
    async with http.post(url, json=body, headers=headers) as response:
        await response.read()
        return response.status


def test_the_search_finds_what_it_looks_for(tmp_path: Path):
    planted = tmp_path / "planted.log"
    planted.write_text('{"event": "x", "password": "p4ss"}\n'
                       '{"auth": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig"}\n'
                       '{"card": "4242 4242 4242 4242", "hash": "$argon2id$v=19$m=65536"}\n')
    found = leaks([planted], {"the password": "p4ss"})
    assert {f.split(" in ")[0] for f in found} == {"the password", "a JWT", "a bearer credential", "a card number",
                                                    "an argon2 password hash"}


async def test_no_log_line_holds_a_secret(attacked: AttackedSystem, callers: dict[str, Caller],
                                          http: aiohttp.ClientSession):
    base = attacked.gateway_url + "/api/v1"
    assert await _post(http, f"{base}/auth/token", {"email": "ben@acme.test", "password": WRONG_PASSWORD}) == 401
    assert await _post(http, f"{base}/auth/token", {"email": "cleo@acme.test", "password": DEMO_PASSWORD}) == 200
    assert await _post(http, f"{base}/auth/service-token",
                       {"client_id": SERVICE_CLIENT, "client_secret": WRONG_CLIENT_SECRET}) == 401
    async with http.get(f"{base}/accounts", headers=callers["user"].headers()) as response:
        [account] = [a for a in await response.json() if a["name"] == "Ben Carter"]
    for card in (GOOD_CARD, DECLINED_CARD, "4242 4242 4242 4242"):
        async with http.post(f"{base}/purchases", headers=callers["user"].headers(new_key()),
                             json={"account_id": account["id"], "quantity": 100,
                                   "billing": {"name": "Ben Carter", "email": "ben@acme.test"}}) as response:
            created = await response.json()
        form = {"card_number": card, "exp_month": 12, "exp_year": 2035, "cvc": "123", "name": "Ben Carter"}
        assert await _post(http, created["checkout_url"], form) == 200
    await asyncio.sleep(1)  # the events those caused are consumed and logged elsewhere

    secrets = {**ISSUED, "the demo password": DEMO_PASSWORD, "a wrong password": WRONG_PASSWORD,
               "a wrong client secret": WRONG_CLIENT_SECRET}
    logs = sorted(LOGS.glob("*.log"))
    assert len(logs) >= 5 and sum(p.stat().st_size for p in logs) > 10_000, "the run's logs are missing"
    found = leaks(logs, secrets)
    assert not found, found[:20]
