"""The design's "Who may do what" table, cell by cell, through the gateway with every service running:
master, a `manage_credits` user, a team member, a user of another team, and another tenant's master."""

from __future__ import annotations

import uuid
from typing import Any

import aiohttp
import pytest

from tests.e2e.conftest import Client
from tests.e2e.test_purchase_flow import GOOD_CARD, pay, start_purchase
from tests.support import eventually


async def transfer(client: Client, source: str, target: str, quantity: int = 1, **extra: Any) -> tuple[int, Any]:
    body = {"from_account": source, "to_account": target, "quantity": quantity, "accept_terms": True, **extra}
    return await client.post("/api/v1/transfers", body, headers={"Idempotency-Key": str(uuid.uuid4())})


@pytest.fixture
async def acme(sign_in, http: aiohttp.ClientSession) -> dict[str, Any]:
    """Signed-in Acme people and their account ids, with System Credits and users funded."""
    people = {name: await sign_in(f"{name}@acme.test") for name in ("master", "ben", "cleo", "dan")}
    people["gail"] = await sign_in("master@globex.test")
    _, accounts = await people["master"].get("/api/v1/accounts")
    ids = {a["name"]: a["id"] for a in accounts}
    created = await start_purchase(people["master"], ids["System Credits"], 2000)
    await pay(http, created["checkout_url"], GOOD_CARD)

    async def credited() -> bool:
        return (await people["master"].get(f"/api/v1/purchases/{created['id']}"))[1]["status"] == "credited"

    await eventually(credited, timeout=5)
    for name in ("Ben Carter", "Cleo Park", "Dan Reyes"):
        status, body = await transfer(people["master"], ids["System Credits"], ids[name], 50)
        assert status == 201, body
    return {"who": people, "ids": ids}


async def test_every_transfer_cell_of_the_permission_table(acme: dict[str, Any]):
    who, ids = acme["who"], acme["ids"]
    system, ava, ben, cleo, dan = (ids[n] for n in ("System Credits", "Ava Nguyen", "Ben Carter", "Cleo Park",
                                                   "Dan Reyes"))
    cells = [
        # (caller, from, to, expected)
        ("master", system, ben, 201), ("master", ben, system, 201), ("master", ben, dan, 201),
        ("dan", system, ben, 403), ("dan", ben, system, 403), ("dan", ben, cleo, 201), ("dan", cleo, ava, 201),
        ("ben", system, ben, 403), ("ben", ben, system, 403), ("ben", cleo, ben, 403),
        ("ben", ben, cleo, 201), ("ben", ben, dan, 403), ("ben", ben, ben, 422),
        ("cleo", cleo, ben, 201),
        ("gail", system, ben, 404), ("gail", ben, cleo, 404),
    ]
    failures = []
    for caller, source, target, expected in cells:
        status, body = await transfer(who[caller], source, target)
        if status != expected:
            failures.append((caller, source, target, expected, status, body.get("detail")))
    assert not failures, failures


async def test_each_person_sees_exactly_the_accounts_the_table_allows(acme: dict[str, Any]):
    who = acme["who"]
    expected = {
        "master": {"System Credits", "Ava Nguyen", "Ben Carter", "Cleo Park", "Dan Reyes"},
        "dan": {"Ava Nguyen", "Ben Carter", "Cleo Park", "Dan Reyes"},
        "ben": {"Ben Carter"},
        "gail": {"System Credits"},
    }
    for name, names in expected.items():
        status, accounts = await who[name].get("/api/v1/accounts")
        assert status == 200 and {a["name"] for a in accounts} == names, name


async def test_logs_of_an_account_outside_ones_reach_are_not_found(acme: dict[str, Any]):
    who, ids = acme["who"], acme["ids"]
    cells = [
        ("master", ids["System Credits"], 200), ("master", ids["Cleo Park"], 200),
        ("dan", ids["Ben Carter"], 200), ("dan", ids["System Credits"], 404),
        ("ben", ids["Ben Carter"], 200), ("ben", ids["Cleo Park"], 404), ("ben", ids["System Credits"], 404),
        ("gail", ids["Ben Carter"], 404),
    ]
    for caller, account, expected in cells:
        status, _ = await who[caller].get("/api/v1/logs", params={"account": account})
        assert status == expected, (caller, account, status)


async def test_purchase_cells_of_the_permission_table(acme: dict[str, Any]):
    who, ids = acme["who"], acme["ids"]
    cells = [
        ("master", ids["System Credits"], 201), ("master", ids["Dan Reyes"], 201),
        ("dan", ids["Ben Carter"], 201), ("dan", ids["System Credits"], 403),
        ("ben", ids["Ben Carter"], 201), ("ben", ids["Cleo Park"], 201), ("ben", ids["Dan Reyes"], 403),
        ("ben", ids["System Credits"], 403), ("gail", ids["Ben Carter"], 404),
    ]
    for caller, account, expected in cells:
        status, body = await who[caller].post(
            "/api/v1/purchases", {"account_id": account, "quantity": 100, "billing": {"name": "X", "email": "x@y.z"}},
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        assert status == expected, (caller, account, status, body)


async def test_transfer_rules_answer_clear_problems_and_change_nothing(acme: dict[str, Any]):
    master, ids = acme["who"]["master"], acme["ids"]
    before = (await master.get(f"/api/v1/accounts/{ids['Ben Carter']}"))[1]["balance"]
    cases: list[tuple[dict[str, Any], int]] = [
        ({"quantity": 0}, 422), ({"quantity": -5}, 422), ({"quantity": 10**9}, 422), ({"quantity": 1.5}, 400),
        ({"quantity": "5"}, 400), ({"accept_terms": False}, 422), ({"quantity": 10**6}, 422),
        ({"unexpected": 1}, 400),
    ]
    for extra, expected in cases:
        status, problem = await transfer(master, ids["Ben Carter"], ids["Cleo Park"], **extra)
        assert status == expected, (extra, problem)
        assert problem["status"] == expected and problem["detail"]
    assert (await master.get(f"/api/v1/accounts/{ids['Ben Carter']}"))[1]["balance"] == before


async def test_a_transfer_is_in_the_log_at_once_with_its_consistency_token(acme: dict[str, Any]):
    who, ids = acme["who"], acme["ids"]
    status, moved = await transfer(who["master"], ids["System Credits"], ids["Ben Carter"], 7, note="For the open home")
    assert status == 201
    status, page = await who["ben"].get(
        "/api/v1/logs", params={"account": ids["Ben Carter"], "consistency_token": moved["consistency_token"]}
    )
    assert status == 200 and page["stale"] is False
    entry = page["entries"][0]
    assert (entry["direction"], entry["quantity"], entry["kind"]) == ("in", 7, "transfer")
    assert entry["counterparty"] == "System Credits" and entry["actor"] == "Ava Nguyen"
    assert entry["note"] == "For the open home" and entry["balance_after"] == moved["to"]["balance"]
