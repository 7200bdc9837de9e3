"""Read-your-writes across replicas (`make cluster-e2e` only): a transfer made through one gateway replica,
then its log read with its consistency token through the other gateway replica, reporting serving the read
from the Postgres replica. The row is there, or the answer says it is stale; it never silently lacks it.
Outside a cluster run (`make test`) there is one gateway, and these tests are skipped."""

from __future__ import annotations

import os
import uuid
from typing import Any

import aiohttp
import pytest

from tests.e2e.conftest import Client
from tests.e2e.test_purchase_flow import GOOD_CARD, pay, start_purchase
from tests.support import eventually

REPLICAS = [url for url in os.environ.get("CLUSTER_GATEWAY_REPLICAS", "").split(",") if url]
pytestmark = pytest.mark.skipif(len(REPLICAS) < 2, reason="needs a cluster's two gateway replicas (make cluster-e2e)")


async def _funded_master(sign_in: Any, http: aiohttp.ClientSession) -> tuple[Client, dict[str, str]]:
    master = await sign_in("master@acme.test")
    _, accounts = await master.get("/api/v1/accounts")
    ids = {a["name"]: a["id"] for a in accounts}
    funded = await start_purchase(master, ids["System Credits"], 200)
    await pay(http, funded["checkout_url"], GOOD_CARD)

    async def credited() -> bool:
        return (await master.get(f"/api/v1/purchases/{funded['id']}"))[1]["status"] == "credited"

    await eventually(credited, timeout=15)
    return master, ids


async def test_a_transfer_through_one_gateway_replica_is_in_the_log_read_through_the_other(
    sign_in: Any, http: aiohttp.ClientSession
) -> None:
    master, ids = await _funded_master(sign_in, http)
    first, second = (Client(http, url, master.token) for url in REPLICAS[:2])
    shown_fresh = 0

    for quantity in (1, 2, 3):  # a few, so a lagging replica would be caught on one of them
        status, posted = await first.post(
            "/api/v1/transfers",
            {"from_account": ids["System Credits"], "to_account": ids["Ben Carter"], "quantity": quantity,
             "accept_terms": True, "note": "across replicas"},
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        assert status == 201, posted

        status, page = await second.get("/api/v1/logs", params={
            "account": ids["Ben Carter"], "consistency_token": str(posted["consistency_token"]), "limit": "50"})

        assert status == 200, page
        shown = [row for row in page["entries"] if row["transaction_id"] == posted["id"]]
        assert shown or page["stale"] is True, page
        assert not (shown and page["stale"]), page
        if shown:
            assert shown[0]["reference"] == f"transfer:{posted['id']}"
            shown_fresh += 1

    # Stale is an honest answer, but a replica streaming on one machine catches up within the wait (2 s).
    assert shown_fresh == 3
