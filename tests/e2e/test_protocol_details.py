"""Issue 15's protocol details with every service running: ETag and If-None-Match on account reads, gzip
of a streamed CSV, and a purchase replayed after it was paid answering its first answer."""

from __future__ import annotations

import gzip
import uuid

import aiohttp
import pytest

from tests.e2e.conftest import Client
from tests.e2e.test_purchase_flow import BILLING, GOOD_CARD, own_account, pay, start_purchase
from tests.support import eventually

pytestmark = pytest.mark.e2e


async def _get(client: Client, path: str, **headers: str) -> aiohttp.ClientResponse:
    response = await client.session.get(client.base + path, headers={"Authorization": f"Bearer {client.token}",
                                                                      **headers}, auto_decompress=False)
    await response.read()
    return response


@pytest.mark.parametrize("one", [False, True])
async def test_account_reads_carry_an_etag_and_answer_304_while_unchanged(sign_in, http, one: bool) -> None:
    ava = await sign_in("master@acme.test")
    accounts = {a["name"]: a["id"] for a in (await ava.get("/api/v1/accounts"))[1]}
    path = f"/api/v1/accounts/{accounts['Ben Carter']}" if one else "/api/v1/accounts"
    first = await _get(ava, path)
    tag = first.headers["ETag"]
    assert first.status == 200 and tag.startswith('"') and "no-cache" in first.headers["Cache-Control"]

    unchanged = await _get(ava, path, **{"If-None-Match": tag})
    assert unchanged.status == 304 and await unchanged.read() == b"" and unchanged.headers["ETag"] == tag
    assert (await _get(ava, path, **{"If-None-Match": '"something-else"'})).status == 200

    created = await start_purchase(ava, accounts["Ben Carter"], 100)  # Ben's balance changes
    await pay(http, created["checkout_url"], GOOD_CARD)

    async def modified() -> bool:
        return (await _get(ava, path, **{"If-None-Match": tag})).status == 200

    await eventually(modified, timeout=10)
    changed = await _get(ava, path, **{"If-None-Match": tag})
    assert changed.status == 200 and changed.headers["ETag"] != tag


async def test_another_tenants_account_is_still_404_with_no_etag(sign_in) -> None:
    ava, gail = await sign_in("master@acme.test"), await sign_in("master@globex.test")
    accounts = {a["name"]: a["id"] for a in (await ava.get("/api/v1/accounts"))[1]}
    answer = await _get(gail, f"/api/v1/accounts/{accounts['Ben Carter']}")
    assert answer.status == 404 and "ETag" not in answer.headers


async def test_the_csv_streams_gzipped_when_asked(sign_in) -> None:
    ava = await sign_in("master@acme.test")
    plain = await _get(ava, "/api/v1/logs.csv", **{"Accept-Encoding": "identity"})
    zipped = await _get(ava, "/api/v1/logs.csv", **{"Accept-Encoding": "gzip, deflate"})

    assert plain.status == zipped.status == 200
    assert zipped.headers["Content-Encoding"] == "gzip" and zipped.headers.get("Transfer-Encoding") == "chunked"
    assert gzip.decompress(await zipped.read()) == await plain.read()


async def test_a_purchase_replayed_after_payment_answers_its_first_answer(sign_in, http) -> None:
    ben = await sign_in("ben@acme.test")
    account = await own_account(ben)
    key, body = str(uuid.uuid4()), {"account_id": account["id"], "quantity": 100, "billing": BILLING}
    headers = {"Authorization": f"Bearer {ben.token}", "Idempotency-Key": key}
    async with http.post(ben.base + "/api/v1/purchases", json=body, headers=headers) as first:
        first_raw, first_status = await first.read(), first.status
    created = await first.json()
    await pay(http, created["checkout_url"], GOOD_CARD)
    async with http.post(ben.base + "/api/v1/purchases", json=body, headers=headers) as again:
        assert (again.status, await again.read()) == (first_status, first_raw) == (201, first_raw)
        assert again.headers["Idempotent-Replayed"] == "true"


async def test_cleo_reusing_bens_key_for_her_own_transfer_is_a_new_request(sign_in, http) -> None:
    ava, ben, cleo = await sign_in("master@acme.test"), await sign_in("ben@acme.test"), await sign_in("cleo@acme.test")
    ids = {a["name"]: a["id"] for a in (await ava.get("/api/v1/accounts"))[1]}
    for name in ("Ben Carter", "Cleo Park"):
        created = await start_purchase(ava, ids[name], 100)
        await pay(http, created["checkout_url"], GOOD_CARD)

    async def funded() -> bool:
        accounts = {a["name"]: a for a in (await ava.get("/api/v1/accounts"))[1]}
        return all(accounts[n]["available"] >= 1 for n in ("Ben Carter", "Cleo Park"))

    await eventually(funded, timeout=10)
    key = str(uuid.uuid4())
    move = {"quantity": 1, "accept_terms": True}
    by_ben = await ben.post("/api/v1/transfers", {**move, "from_account": ids["Ben Carter"],
                                                  "to_account": ids["Cleo Park"]}, headers={"Idempotency-Key": key})
    by_cleo = await cleo.post("/api/v1/transfers", {**move, "from_account": ids["Cleo Park"],
                                                    "to_account": ids["Ben Carter"]}, headers={"Idempotency-Key": key})

    assert by_ben[0] == 201 and by_cleo[0] == 201, (by_ben, by_cleo)
    assert by_ben[1] != by_cleo[1]
