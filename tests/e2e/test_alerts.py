"""Balance alerts through the gateway, every service running: Cleo's account gets a level, a transfer takes
it below (Cleo and the master are emailed), a transfer back brings it above (emailed again), once each."""

from __future__ import annotations

import uuid
from email.message import EmailMessage
from typing import Any

from tests.e2e.conftest import Client, System
from tests.e2e.onboarding_support import mailbox, mailing_gateway  # noqa: F401 - fixtures
from tests.integration.billing.mail_support import Mailbox

MASTER, CLEO = "master@acme.test", "cleo@acme.test"


def _about_cleo(box: Mailbox, address: str) -> list[str]:
    return [str(m["Subject"]) for m in box.to(address) if str(m["Subject"]).startswith("Cleo Park's SMS credits")]


async def _account(client: Client, kind: str, name: str | None = None) -> dict[str, Any]:
    status, accounts = await client.get("/api/v1/accounts")
    assert status == 200, accounts
    return next(a for a in accounts if a["kind"] == kind and (name is None or a["name"] == name))


async def test_levels_set_through_the_api_email_the_holder_and_the_master_below_and_back_above(
    system: System, sign_in: Any, mailbox: Mailbox, mailing_gateway: None,  # noqa: F811
) -> None:
    olive, ava, cleo = [await sign_in(e) for e in ("ops@platform.test", MASTER, CLEO)]
    cleo_account = await _account(cleo, "user")
    status, me = await ava.get("/api/v1/me")
    tenant = me["tenant"]["id"]
    system_account = await _account(ava, "system")
    for account, quantity in ((cleo_account, 30), (system_account, 10)):  # credits of our own to move
        status, grant = await olive.post(f"/api/v1/admin/tenants/{tenant}/grants",
                                         {"account_id": account["id"], "quantity": quantity, "reason": "Alerts test",
                                          "expires_at": None},
                                         headers={"Idempotency-Key": str(uuid.uuid4())})
        assert status == 201, grant
    available = (await _account(cleo, "user"))["available"]
    level = available - 10
    path = f"/api/v1/accounts/{cleo_account['id']}/alerts"
    status, levels = await cleo.put(path, {"levels": [{"name": "Low", "kind": "absolute", "value": level}]})
    assert status == 200 and [(a["name"], a["threshold"], a["below"]) for a in levels] == [("Low", level, False)]

    async def transfer(source: dict[str, Any], target: dict[str, Any], quantity: int) -> None:
        body = {"from_account": source["id"], "to_account": target["id"], "quantity": quantity, "accept_terms": True}
        status, moved = await ava.post("/api/v1/transfers", body, headers={"Idempotency-Key": str(uuid.uuid4())})
        assert status == 201, moved

    try:
        await transfer(cleo_account, system_account, 15)  # 5 below the level
        low = f"Cleo Park's SMS credits are low: {available - 15:,} left (below Low, {level:,})"
        await mailbox.wait_for(1, timeout=30, to=CLEO)
        await mailbox.wait_for(1, timeout=30, to=MASTER)
        assert _about_cleo(mailbox, CLEO) == _about_cleo(mailbox, MASTER) == [low]
        [message] = [m for m in mailbox.to(CLEO) if str(m["Subject"]) == low]
        assert isinstance(message, EmailMessage)
        assert f"{system.gateway_url}/credits" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]

        await transfer(system_account, cleo_account, 10)  # back above it
        recovered = "Cleo Park's SMS credits are back above Low"
        await mailbox.wait_for(2, timeout=30, to=CLEO)
        await mailbox.wait_for(2, timeout=30, to=MASTER)
        assert _about_cleo(mailbox, CLEO) == _about_cleo(mailbox, MASTER) == [low, recovered]
        status, levels = await ava.get(path)
        assert status == 200 and [(a["name"], a["below"]) for a in levels] == [("Low", False)]
    finally:
        await cleo.put(path, {"levels": []})  # leave Cleo's account as the other tests expect it
