"""Spending limits through the gateway with every service running: who may read and set a person's monthly
credit limit, and a message beyond it refused with 422 before anything is reserved or sent."""

from __future__ import annotations

import uuid
from typing import Any

import aiohttp

from tests.e2e.conftest import Client
from tests.e2e.test_send_sms import fund, number, send


async def put_limit(client: Client, user_id: str, limit: int | None) -> tuple[int, Any]:
    url = f"{client.base}/api/v1/users/{user_id}/limits"
    async with client.session.put(url, json={"monthly_credit_limit": limit}, headers=client._headers()) as r:
        return r.status, await r.json(content_type=None)


async def test_who_may_read_and_set_a_spending_limit(sign_in: Any) -> None:
    master, ben, dan, gail, ops = [await sign_in(f"{n}.test") for n in (
        "master@acme", "ben@acme", "dan@acme", "master@globex", "ops@platform")]
    _, cleo = await (await sign_in("cleo@acme.test")).get("/api/v1/me")
    cleo_id = cleo["id"]
    try:
        assert (await put_limit(master, cleo_id, 9000))[0] == 200
        status, view = await put_limit(dan, cleo_id, 8000)  # manage_credits: everyone in the tenant
        assert status == 200 and view["monthly_credit_limit"] == 8000, view
        assert (await put_limit(ben, cleo_id, 1))[0] == 403  # a plain user
        _, me = await ben.get("/api/v1/me")
        assert (await put_limit(ben, me["id"], 1))[0] == 403  # not even their own
        assert (await gail.get(f"/api/v1/users/{cleo_id}/limits"))[0] == 404  # another tenant's person
        assert (await put_limit(gail, cleo_id, 1))[0] == 404
        assert (await put_limit(ops, cleo_id, 1))[0] == 403  # operators have no tenant
        assert (await ben.get(f"/api/v1/users/{cleo_id}/limits"))[0] == 403
        status, own = await ben.get(f"/api/v1/users/{me['id']}/limits")
        assert status == 200 and own["user_id"] == me["id"], own
        status, problem = await put_limit(master, cleo_id, 0)
        assert status == 422 and problem["type"].endswith("/problems/limit-invalid"), problem
        assert (await master.get(f"/api/v1/users/{uuid.uuid4()}/limits"))[0] == 404
    finally:
        assert (await put_limit(master, cleo_id, None))[0] == 200


async def test_a_message_beyond_the_monthly_limit_is_422_and_nothing_is_reserved(
    sign_in: Any, http: aiohttp.ClientSession,
) -> None:
    master, cleo = await sign_in("master@acme.test"), await sign_in("cleo@acme.test")
    _, me = await cleo.get("/api/v1/me")
    before = await fund(cleo, http, 100)
    _, limits = await cleo.get(f"/api/v1/users/{me['id']}/limits")
    try:
        # One credit left this month: a message to two recipients needs two.
        status, view = await put_limit(master, me["id"], limits["used_this_month"] + 1)
        assert status == 200 and view["remaining"] == 1, view
        status, problem = await send(cleo, [number(), number()], "Inspection moved to 11am.")
        assert status == 422, problem
        assert problem["type"].endswith("/problems/monthly-limit-reached")
        assert problem["detail"] == "Cleo Park has 1 of their {} credits left this month; this message needs 2.".format(
            view["monthly_credit_limit"])
        _, account = await cleo.get(f"/api/v1/accounts/{before['id']}")
        assert account["held"] == before["held"]
        status, sent = await send(cleo, [number()], "Inspection moved to 11am.")
        assert status == 202, sent
        _, after = await cleo.get(f"/api/v1/users/{me['id']}/limits")
        assert after["remaining"] == 0
    finally:
        assert (await put_limit(master, me["id"], None))[0] == 200
