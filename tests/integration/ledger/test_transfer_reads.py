"""GET /transfers/{id} and GET /transfers: a transfer read back from the journal, and keyset pages of a
tenant's transfers newest first, filtered by account and time."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from common.accounts import user_code
from tests.integration.ledger.conftest import LedgerHarness


async def _page(ledger: LedgerHarness, tenant: uuid.UUID, *params: tuple[str, str]) -> tuple[int, dict[str, Any]]:
    response = await ledger.client.get("/transfers", params=list(params), headers=ledger.token(tenant))
    return response.status, await response.json()


async def _tenant_with_transfers(ledger: LedgerHarness, count: int) -> tuple[uuid.UUID, str, str, list[str]]:
    tenant = await ledger.add_tenant()
    master, ben = await ledger.add_user(tenant, "master"), await ledger.add_user(tenant)
    ben_code = user_code(ben.user_id)
    await ledger.fund(tenant, "system", 1000)
    ids = []
    for n in range(count):
        status, body = await ledger.transfer(ledger.as_user(master), "system", ben_code, n + 1)
        assert status == 201, body
        ids.append(body["id"])
    return tenant, user_code(master.user_id), ben_code, ids


async def test_a_transfer_reads_back_with_its_sides_quantity_actor_and_terms(ledger: LedgerHarness) -> None:
    tenant = await ledger.add_tenant()
    master, ben = await ledger.add_user(tenant, "master"), await ledger.add_user(tenant)
    await ledger.fund(tenant, "system", 1000)
    body = {"from_code": "system", "to_code": user_code(ben.user_id), "quantity": 250, "accept_terms": True,
            "note": "for the open home", "terms_version": "2026-11"}
    status, posted = await ledger.post("/transfers", body, ledger.as_user(master))
    assert status == 201, posted

    response = await ledger.client.get(f"/transfers/{posted['id']}", headers=ledger.token(tenant))

    assert response.status == 200
    record = await response.json()
    created_at = datetime.fromisoformat(record.pop("created_at"))
    assert abs(created_at - datetime.now(UTC)) < timedelta(minutes=1)
    assert record == {
        "id": posted["id"], "from_code": "system", "to_code": user_code(ben.user_id), "quantity": 250,
        "note": "for the open home", "actor_user_id": str(master.user_id), "terms_version": "2026-11",
    }


async def test_another_tenants_transfer_an_unknown_id_and_a_purchase_are_not_found(ledger: LedgerHarness) -> None:
    tenant, _, _, [transfer_id] = await _tenant_with_transfers(ledger, 1)
    other = await ledger.add_tenant()
    purchase_id = (await ledger.pool.fetchval("SELECT id FROM transactions WHERE tenant_id = $1 AND kind = 'purchase'",
                                              tenant))

    for who, wanted in ((other, transfer_id), (tenant, str(uuid.uuid4())), (tenant, "not-a-uuid"),
                        (tenant, str(purchase_id))):
        response = await ledger.client.get(f"/transfers/{wanted}", headers=ledger.token(who))
        assert response.status == 404, wanted
        assert (await response.json())["type"].endswith("/transfer-not-found")


async def test_pages_walk_every_transfer_once_newest_first(ledger: LedgerHarness) -> None:
    tenant, _, _, ids = await _tenant_with_transfers(ledger, 7)

    seen, cursor, pages = [], None, 0
    while True:
        status, body = await _page(ledger, tenant, ("limit", "3"), *([("cursor", cursor)] if cursor else []))
        assert status == 200, body
        seen += [item["id"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break

    assert seen == list(reversed(ids)) and pages == 3
    status, body = await _page(ledger, tenant)
    assert [item["quantity"] for item in body["items"]] == [7, 6, 5, 4, 3, 2, 1]  # limit 50 by default


async def test_the_account_and_time_filters_narrow_the_page(ledger: LedgerHarness) -> None:
    tenant, _, ben_code, ids = await _tenant_with_transfers(ledger, 3)
    cleo = await ledger.add_user(tenant)
    status, _ = await ledger.transfer(ledger.token(tenant), "system", user_code(cleo.user_id), 10)
    assert status == 201

    status, body = await _page(ledger, tenant, ("account", ben_code))
    assert status == 200 and [item["id"] for item in body["items"]] == list(reversed(ids))
    status, body = await _page(ledger, tenant, ("account", ben_code), ("account", user_code(cleo.user_id)))
    assert len(body["items"]) == 4
    middle = await ledger.client.get(f"/transfers/{ids[1]}", headers=ledger.token(tenant))
    moment = (await middle.json())["created_at"]
    status, body = await _page(ledger, tenant, ("account", ben_code), ("since", moment))
    assert [item["id"] for item in body["items"]] == [ids[2], ids[1]]  # since: inclusive
    status, body = await _page(ledger, tenant, ("account", ben_code), ("until", moment))
    assert [item["id"] for item in body["items"]] == [ids[0]]  # until: exclusive
    status, body = await _page(ledger, await ledger.add_tenant())
    assert (status, body) == (200, {"items": [], "next_cursor": None})


async def test_a_bad_cursor_limit_or_account_is_a_400_naming_it(ledger: LedgerHarness) -> None:
    tenant, _, _, _ = await _tenant_with_transfers(ledger, 1)

    for params, field in (([("cursor", "bm90LWEtY3Vyc29y")], "cursor"), ([("limit", "0")], "limit"),
                          ([("limit", "101")], "limit"), ([("account", "world")], "account"),
                          ([("since", "yesterday")], "since")):
        status, body = await _page(ledger, tenant, *params)
        assert status == 400, (params, body)
        assert any(e["field"].startswith(field) for e in body["errors"]), body
