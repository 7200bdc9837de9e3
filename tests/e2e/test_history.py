"""What clients read back, through the gateway with every service running: a transfer, pages of
transfers and purchases (keyset cursors, filters, the caller's visibility), and the log rows naming
their transaction."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

import aiohttp
import pytest

from tests.e2e.conftest import Client
from tests.e2e.test_purchase_flow import GOOD_CARD, pay, start_purchase
from tests.support import eventually


async def _transfer(client: Client, source: str, target: str, quantity: int, note: str) -> dict[str, Any]:
    body = {"from_account": source, "to_account": target, "quantity": quantity, "accept_terms": True, "note": note}
    status, posted = await client.post("/api/v1/transfers", body, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert status == 201, posted
    return dict(posted)


async def _all_pages(client: Client, path: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, "limit": "100"} | ({"cursor": cursor} if cursor else {})
        status, page = await client.get(path, params=query)
        assert status == 200, page
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


@pytest.fixture
async def acme(sign_in, http: aiohttp.ClientSession) -> dict[str, Any]:
    """Acme's people signed in, System Credits funded, a transfer to Ben and one to Cleo, and a purchase
    Ben started for himself."""
    who = {name: await sign_in(f"{name}@acme.test") for name in ("master", "ben", "cleo", "dan")}
    who["gail"] = await sign_in("master@globex.test")
    _, accounts = await who["master"].get("/api/v1/accounts")
    ids = {a["name"]: a["id"] for a in accounts}
    funded = await start_purchase(who["master"], ids["System Credits"], 500)
    await pay(http, funded["checkout_url"], GOOD_CARD)

    async def credited() -> bool:
        return (await who["master"].get(f"/api/v1/purchases/{funded['id']}"))[1]["status"] == "credited"

    await eventually(credited, timeout=10)
    to_ben = await _transfer(who["master"], ids["System Credits"], ids["Ben Carter"], 20, "for Ben")
    to_cleo = await _transfer(who["master"], ids["System Credits"], ids["Cleo Park"], 30, "for Cleo")
    bens_purchase = await start_purchase(who["ben"], ids["Ben Carter"], 100)
    return {"who": who, "ids": ids, "to_ben": to_ben, "to_cleo": to_cleo, "funded": funded,
            "bens_purchase": bens_purchase}


async def test_a_transfer_reads_back_named_for_people(acme: dict[str, Any]) -> None:
    who, ids, to_ben = acme["who"], acme["ids"], acme["to_ben"]

    status, transfer = await who["master"].get(f"/api/v1/transfers/{to_ben['id']}")

    assert status == 200, transfer
    assert transfer["id"] == to_ben["id"]
    assert transfer["from"] == {"id": ids["System Credits"], "name": "System Credits"}
    assert transfer["to"] == {"id": ids["Ben Carter"], "name": "Ben Carter"}
    assert (transfer["quantity"], transfer["note"]) == (20, "for Ben")
    assert transfer["actor"]["name"] == "Ava Nguyen" and uuid.UUID(transfer["actor"]["id"])
    assert transfer["terms_version"] and transfer["created_at"]
    assert await who["ben"].get(f"/api/v1/transfers/{to_ben['id']}") == (200, transfer)  # it touches his account


async def test_a_transfer_the_caller_may_not_see_is_not_found(acme: dict[str, Any]) -> None:
    who, to_ben, to_cleo = acme["who"], acme["to_ben"], acme["to_cleo"]

    cells = [("cleo", to_ben["id"]), ("ben", to_cleo["id"]), ("gail", to_ben["id"]),
             ("master", str(uuid.uuid4())), ("master", "not-a-uuid"), ("master", acme["funded"]["id"])]
    for caller, transfer_id in cells:
        status, body = await who[caller].get(f"/api/v1/transfers/{transfer_id}")
        assert status == 404, (caller, transfer_id, body)
        assert body["type"].endswith("/transfer-not-found") and body["status"] == 404
    assert (await who["dan"].get(f"/api/v1/transfers/{to_cleo['id']}"))[0] == 200  # manages every user's credits


async def test_ben_lists_only_transfers_touching_his_account_and_a_master_sees_all(acme: dict[str, Any]) -> None:
    who, ids, to_ben, to_cleo = acme["who"], acme["ids"], acme["to_ben"], acme["to_cleo"]
    ben = ids["Ben Carter"]

    bens = await _all_pages(who["ben"], "/api/v1/transfers")
    masters = await _all_pages(who["master"], "/api/v1/transfers")

    assert to_ben["id"] in {t["id"] for t in bens} and to_cleo["id"] not in {t["id"] for t in bens}
    assert all(ben in (t["from"]["id"], t["to"]["id"]) for t in bens)
    assert {to_ben["id"], to_cleo["id"]} <= {t["id"] for t in masters}
    assert {t["id"] for t in bens} < {t["id"] for t in masters}
    assert [t["created_at"] for t in masters] == sorted((t["created_at"] for t in masters), reverse=True)
    for_cleo = await _all_pages(who["master"], "/api/v1/transfers", account=ids["Cleo Park"])
    assert to_cleo["id"] in {t["id"] for t in for_cleo} and to_ben["id"] not in {t["id"] for t in for_cleo}
    status, body = await who["ben"].get("/api/v1/transfers", params={"account": ids["Cleo Park"]})
    assert status == 404, body  # an account he does not manage: as if it did not exist
    status, body = await who["gail"].get("/api/v1/transfers")
    assert status == 200 and to_ben["id"] not in {t["id"] for t in body["items"]}


async def test_pages_follow_the_cursor_and_time_filters_narrow_them(acme: dict[str, Any]) -> None:
    master, to_ben, to_cleo = acme["who"]["master"], acme["to_ben"], acme["to_cleo"]
    _, first = await master.get("/api/v1/transfers", params={"limit": "1"})
    assert len(first["items"]) == 1 and first["next_cursor"]
    _, second = await master.get("/api/v1/transfers", params={"limit": "1", "cursor": first["next_cursor"]})
    assert second["items"][0]["created_at"] <= first["items"][0]["created_at"]
    assert second["items"][0]["id"] != first["items"][0]["id"]

    _, cleos = await master.get(f"/api/v1/transfers/{to_cleo['id']}")
    _, since = await master.get("/api/v1/transfers", params={"since": cleos["created_at"]})
    _, until = await master.get("/api/v1/transfers", params={"until": cleos["created_at"]})
    assert to_cleo["id"] in {t["id"] for t in since["items"]} and to_ben["id"] not in {t["id"] for t in since["items"]}
    assert to_cleo["id"] not in {t["id"] for t in until["items"]}


@pytest.mark.parametrize("path", ["/api/v1/transfers", "/api/v1/purchases"])
async def test_a_bad_cursor_limit_or_time_is_a_problem_400(
    acme: dict[str, Any], http: aiohttp.ClientSession, path: str
) -> None:
    master = acme["who"]["master"]
    for params in ({"cursor": "bm90LWEtY3Vyc29y"}, {"limit": "0"}, {"limit": "101"}, {"since": "yesterday"},
                   {"colour": "blue"}):
        async with http.get(master.base + path, params=params, headers=master._headers()) as response:
            body = await response.json(content_type=None)
            assert response.status == 400, (params, body)
            assert response.content_type == "application/problem+json"
            assert body["status"] == 400 and body["type"] and body["detail"]


async def test_purchases_list_what_touches_the_callers_accounts(acme: dict[str, Any]) -> None:
    who, ids, bens_purchase, funded = acme["who"], acme["ids"], acme["bens_purchase"], acme["funded"]

    bens = await _all_pages(who["ben"], "/api/v1/purchases")
    cleos = await _all_pages(who["cleo"], "/api/v1/purchases")
    masters = await _all_pages(who["master"], "/api/v1/purchases")

    assert bens_purchase["id"] in {p["id"] for p in bens}
    assert {p["account_id"] for p in bens} == {ids["Ben Carter"]}
    assert bens_purchase["id"] not in {p["id"] for p in cleos}
    assert {bens_purchase["id"], funded["id"]} <= {p["id"] for p in masters}
    mine = next(p for p in masters if p["id"] == bens_purchase["id"])
    assert mine == (await who["master"].get(f"/api/v1/purchases/{bens_purchase['id']}"))[1]
    status, body = await who["gail"].get("/api/v1/purchases", params={"account": ids["Ben Carter"]})
    assert status == 404, body


async def test_log_rows_name_their_transaction_and_transfers_their_reference(acme: dict[str, Any]) -> None:
    master, ids, to_ben = acme["who"]["master"], acme["ids"], acme["to_ben"]
    params = {"account": ids["Ben Carter"], "consistency_token": str(to_ben["consistency_token"])}

    status, page = await master.get("/api/v1/logs", params={**params, "limit": "1000"})

    assert status == 200, page
    [row] = [e for e in page["entries"] if e["transaction_id"] == to_ben["id"]]
    assert row["reference"] == f"transfer:{to_ben['id']}"
    assert all(e["transaction_id"] for e in page["entries"])
    async with master.session.get(master.base + "/api/v1/logs.csv", params=params,
                                  headers=master._headers()) as response:
        assert response.status == 200
        rows = list(csv.reader(io.StringIO((await response.read()).decode("utf-8-sig"), newline="")))
    column = rows[0].index("Transaction")
    assert [r[8] for r in rows[1:] if r[column] == to_ben["id"]] == [f"transfer:{to_ben['id']}"]
