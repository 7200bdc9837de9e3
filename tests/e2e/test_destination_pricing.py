"""Destination pricing through the gateway, every service running: the live counter prices each country,
a message to New Zealand and Australia reserves and captures by destination, an operator's new table
applies to the next message, and only operators change it."""

from __future__ import annotations

from typing import Any

import aiohttp

from tests.e2e.test_send_sms import fund, send, settled
from tests.support import eventually, mobile_number

NEW_ZEALAND = "+6421{}"  # a mobile number in New Zealand: 021 and 7 digits


def _nz() -> str:
    return NEW_ZEALAND.format(mobile_number()[-7:])


async def test_a_message_costs_what_its_destinations_cost_and_the_counter_says_so(
    sign_in: Any, http: aiohttp.ClientSession
) -> None:
    ben, olive = await sign_in("ben@acme.test"), await sign_in("ops@platform.test")
    status, table = await ben.get("/api/v1/destination-rates")
    assert status == 200 and table["rates"]["AU"] == 1 and table["rates"]["NZ"] == 2 and "*" in table["rates"], table
    home, away = mobile_number(), _nz()
    body = "x" * 200  # two segments

    status, counted = await ben.post("/api/v1/messages/preview", {"body": body, "to": [home, away, "+61 nonsense"]})
    assert status == 200, counted
    assert (counted["recipients"], counted["credits"]) == (2, 2 * 1 + 2 * 2)
    assert [(d["region"], d["credits_per_segment"], d["credits"]) for d in counted["destinations"]] == [
        ("AU", 1, 2), ("NZ", 2, 4)]

    before = await fund(ben, http, 100)
    status, sent = await send(ben, [home, away], body)
    assert status == 202 and sent["credits"] == 6, sent
    message = await settled(ben, sent["id"])
    assert message["captured_credits"] == 6
    assert {r["to"]: r["credits"] for r in message["recipients"]} == {home: 2, away: 4}

    async def charged() -> bool:
        _, account = await ben.get(f"/api/v1/accounts/{before['id']}")
        return bool(account["balance"] == before["balance"] - 6 and account["held"] == before["held"])

    await eventually(charged, timeout=10)

    refused, problem = await ben.put("/api/v1/admin/destination-rates", {"rates": {"AU": 5, "*": 5}})
    assert refused == 403, problem
    status, changed = await olive.put("/api/v1/admin/destination-rates", {"rates": {**table["rates"], "NZ": 4}})
    assert status == 200 and changed["rates"]["NZ"] == 4, changed
    try:
        status, sent = await send(ben, [away], body)
        assert status == 202 and sent["credits"] == 8, sent
    finally:
        assert (await olive.put("/api/v1/admin/destination-rates", {"rates": table["rates"]}))[0] == 200
    bad, problem = await olive.put("/api/v1/admin/destination-rates", {"rates": {"AU": 1}})
    assert bad == 422 and problem["errors"][0]["field"] == "rates.*", problem
