"""GET /purchases: keyset pages of the caller's tenant's purchases, newest first, by scope or named
accounts and by time; bad input is a 400 naming the field."""

from __future__ import annotations

import uuid
from typing import Any

from common import accounts
from tests.integration.billing.harness import Billing, Buyer


def _user_buyer(tenant: uuid.UUID) -> tuple[Buyer, dict[str, Any]]:
    """A buyer of their own User Credits, and the body of such a purchase."""
    buyer = Buyer(tenant_id=tenant)
    code = accounts.user_code(buyer.user_id)
    body = {**buyer.purchase_body(), "account_id": str(accounts.account_id(tenant, code)), "account_code": code}
    return buyer, body


async def _page(billing: Billing, *params: tuple[str, str], buyer: Buyer | None = None) -> tuple[int, Any]:
    response = await billing.client.get("/purchases", params=list(params), headers=billing.headers(buyer))
    return response.status, await response.json()


async def test_pages_walk_every_purchase_of_the_tenant_once_newest_first(billing: Billing) -> None:
    made = [await billing.purchase(quantity=1000 + n) for n in range(5)]
    await billing.purchase(buyer=Buyer())  # another tenant's: never listed

    seen, cursor = [], None
    while True:
        status, body = await _page(billing, ("scope", "tenant"), ("limit", "2"),
                                   *([("cursor", cursor)] if cursor else []))
        assert status == 200, body
        seen += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            break

    assert [p["id"] for p in seen] == [p["id"] for p in reversed(made)]
    assert seen[0] == {**made[-1], "created_at": seen[0]["created_at"]}  # the same shape as GET /purchases/{id}
    status, body = await _page(billing, ("scope", "tenant"))
    assert len(body["items"]) == 5 and body["next_cursor"] is None  # limit 50 by default


async def test_scope_and_accounts_choose_whose_purchases(billing: Billing) -> None:
    tenant = billing.buyer.tenant_id
    system = await billing.purchase()
    ben, ben_body = _user_buyer(tenant)
    response = await billing.client.post("/purchases", json=ben_body, headers=billing.headers(ben, "ben-1"))
    assert response.status == 201
    bens = await response.json()

    status, body = await _page(billing, ("scope", "users"))
    assert status == 200 and [p["id"] for p in body["items"]] == [bens["id"]]
    status, body = await _page(billing, ("account", ben_body["account_id"]))
    assert [p["id"] for p in body["items"]] == [bens["id"]]
    status, body = await _page(billing, ("account", system["account_id"]), ("account", ben_body["account_id"]))
    assert status == 200 and [p["id"] for p in body["items"]] == [bens["id"], system["id"]]


async def test_since_is_inclusive_and_until_exclusive(billing: Billing) -> None:
    first, second, third = [await billing.purchase() for _ in range(3)]
    moment = second["created_at"]

    status, body = await _page(billing, ("scope", "tenant"), ("since", moment))
    assert [p["id"] for p in body["items"]] == [third["id"], second["id"]]
    status, body = await _page(billing, ("scope", "tenant"), ("until", moment))
    assert status == 200 and [p["id"] for p in body["items"]] == [first["id"]]


async def test_bad_input_is_a_400_naming_the_field(billing: Billing) -> None:
    await billing.purchase()
    for params, field in (([("scope", "tenant"), ("cursor", "garbage!")], "cursor"),
                          ([("scope", "tenant"), ("limit", "0")], "limit"),
                          ([("scope", "tenant"), ("limit", "101")], "limit"),
                          ([("scope", "everyone")], "scope"),
                          ([], "account"),
                          ([("scope", "tenant"), ("account", str(uuid.uuid4()))], "account"),
                          ([("scope", "tenant"), ("until", "soon")], "until")):
        status, body = await _page(billing, *params)
        assert status == 400, (params, body)
        assert body["type"].endswith(("/invalid-cursor", "/malformed-request", "/accounts-missing", "/validation"))
        assert any(e["field"].startswith(field) for e in body["errors"]), body
