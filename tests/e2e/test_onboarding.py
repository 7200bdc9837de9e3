"""Onboarding end to end: an operator creates a tenant, its master sets a password from the emailed link
and signs in, and adds a user whom the ledger then holds an account for."""

from __future__ import annotations

import uuid
from typing import Any

import aiohttp

from tests.e2e.conftest import Client, System
from tests.e2e.onboarding_support import mailbox, mailing_gateway  # noqa: F401 - fixtures
from tests.e2e.test_purchase_flow import GOOD_CARD, pay, start_purchase
from tests.integration.billing.mail_support import Mailbox
from tests.support import eventually

PASSWORD = "the master's own password"


def _token(text: str, base: str) -> str:
    [link] = [word for word in text.split() if word.startswith(f"{base}/set-password?token=")]
    return link.split("token=", 1)[1]


async def _accounts(client: Client) -> list[dict[str, Any]]:
    status, accounts = await client.get("/api/v1/accounts")
    assert status == 200, accounts
    return list(accounts)


async def test_an_operator_onboards_a_tenant_whose_master_signs_in_and_adds_a_user(
    system: System, sign_in: Any, http: aiohttp.ClientSession, mailbox: Mailbox,  # noqa: F811
    mailing_gateway: None,  # noqa: F811
):
    operator = await sign_in("ops@platform.test")
    unique = uuid.uuid4().hex[:8]
    master_email = f"mia-{unique}@vandelay.test"
    status, created = await operator.post(
        "/api/v1/admin/tenants",
        {"name": f"Vandelay {unique}", "legal_name": "Vandelay Industries Pty Ltd", "abn": "51 824 753 556",
         "timezone": "Australia/Brisbane", "credit_mode": "individual",
         "master": {"name": "Mia Vandelay", "email": master_email}},
        headers={"Idempotency-Key": unique},
    )
    assert status == 201, created

    [invitation] = await mailbox.wait_for(1, timeout=20, to=master_email)
    assert invitation["To"] == master_email
    token = _token(invitation.get_body(("plain",)).get_content(), system.gateway_url)  # type: ignore[union-attr]
    async with http.get(f"{system.gateway_url}/set-password", params={"token": token}) as page:
        assert page.status == 200 and master_email in await page.text()
    form = {"token": token, "password": PASSWORD, "password_again": PASSWORD}
    async with http.post(f"{system.gateway_url}/set-password", data=form) as done:
        assert done.status == 200 and "Your password is set" in await done.text()

    status, signed_in = await Client(http, system.gateway_url).post(
        "/api/v1/auth/token", {"email": master_email, "password": PASSWORD})
    assert status == 200, signed_in
    master = Client(http, system.gateway_url, signed_in["access_token"])
    status, nora = await master.post("/api/v1/users", {"name": "Nora Field", "email": f"nora-{unique}@vandelay.test"})
    assert status == 201, nora

    [account] = [a for a in await _accounts(master) if a["owner"] and a["owner"]["id"] == nora["id"]]
    assert (account["kind"], account["balance"]) == ("user", 0)
    # The ledger knows the tenant and Nora from the directory's events: credits bought for her reach her.
    purchase = await start_purchase(master, account["id"], 100)
    await pay(http, purchase["checkout_url"], GOOD_CARD)

    async def credited() -> bool:
        return any(a["id"] == account["id"] and a["balance"] == 100 for a in await _accounts(master))

    await eventually(credited, timeout=15)
