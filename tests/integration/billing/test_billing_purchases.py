from __future__ import annotations

import asyncio
import uuid

from common import accounts
from tests.integration.billing.harness import Billing, Buyer


async def test_a_purchase_starts_pending_with_its_quote_and_a_checkout_url(billing: Billing) -> None:
    body = billing.buyer.purchase_body(quantity=10000)
    response = await billing.client.post("/purchases", json=body, headers=billing.headers(key="k-1"))

    assert response.status == 201
    purchase = await response.json()
    assert purchase["status"] == "pending"
    assert purchase["quantity"] == 10000
    assert purchase["account_id"] == body["account_id"]
    assert purchase["quote"]["total"] == "770.00"
    assert purchase["checkout_url"].startswith(f"{billing.settings.public_base_url}/checkout/cs_test_")
    assert purchase["invoice_number"] is None
    async with billing.pool.acquire() as conn:
        row = await conn.fetchrow("SELECT buyer_user_id, total_cents FROM purchases WHERE id = $1",
                                  uuid.UUID(purchase["id"]))
    assert (row["buyer_user_id"], row["total_cents"]) == (billing.buyer.user_id, 77000)


async def test_the_same_key_and_body_replays_the_first_purchase(billing: Billing) -> None:
    body = billing.buyer.purchase_body()
    first = await billing.client.post("/purchases", json=body, headers=billing.headers(key="replay"))
    again = await billing.client.post("/purchases", json=body, headers=billing.headers(key="replay"))

    assert (first.status, again.status) == (201, 200)
    assert (await first.json()) == (await again.json())


async def test_the_same_key_with_a_different_body_is_a_conflict(billing: Billing) -> None:
    headers = billing.headers(key="reused")
    first = await billing.client.post("/purchases", json=billing.buyer.purchase_body(1000), headers=headers)
    other = await billing.client.post("/purchases", json=billing.buyer.purchase_body(2000), headers=headers)

    assert first.status == 201
    assert other.status == 409
    async with billing.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM purchases") == 1


async def test_concurrent_requests_with_one_key_create_one_purchase(billing: Billing) -> None:
    body = billing.buyer.purchase_body()
    responses = await asyncio.gather(
        *(billing.client.post("/purchases", json=body, headers=billing.headers(key="race")) for _ in range(10))
    )

    assert sorted(r.status for r in responses) == [200] * 9 + [201]
    assert len({(await r.json())["id"] for r in responses}) == 1
    async with billing.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM test_provider_sessions") == 1


async def test_the_key_belongs_to_the_tenant_so_another_tenant_may_use_it_too(billing: Billing) -> None:
    other = Buyer()
    mine = await billing.client.post(
        "/purchases", json=billing.buyer.purchase_body(), headers=billing.headers(key="shared")
    )
    theirs = await billing.client.post(
        "/purchases", json=other.purchase_body(), headers=billing.headers(other, "shared")
    )

    assert (mine.status, theirs.status) == (201, 201)
    assert (await mine.json())["id"] != (await theirs.json())["id"]


async def test_a_purchase_without_an_idempotency_key_is_malformed(billing: Billing) -> None:
    response = await billing.client.post("/purchases", json=billing.buyer.purchase_body(), headers=billing.headers())
    assert response.status == 400


async def test_a_malformed_or_out_of_range_purchase_is_refused_and_nothing_is_written(billing: Billing) -> None:
    buyer = billing.buyer
    user_code = f"user:{buyer.user_id}"
    cases = [
        (400, {**buyer.purchase_body(), "quantity": "1000"}),
        (400, {**buyer.purchase_body(), "billing": {"name": "Jo"}}),
        (400, buyer.purchase_body(email="not-an-email")),
        (400, {**buyer.purchase_body(), "account_code": "world"}),
        (400, {**buyer.purchase_body(), "account_code": user_code}),  # id of "system", code of a user
        (422, buyer.purchase_body(quantity=50)),
    ]
    for expected, body in cases:
        response = await billing.client.post("/purchases", json=body, headers=billing.headers(key=uuid.uuid4().hex))
        assert response.status == expected, body
    ok = {**buyer.purchase_body(), "account_code": user_code,
          "account_id": str(accounts.account_id(buyer.tenant_id, user_code))}
    response = await billing.client.post("/purchases", json=ok, headers=billing.headers(key=uuid.uuid4().hex))
    assert response.status == 201
    async with billing.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM purchases") == 1


async def test_another_tenants_purchase_is_not_found(billing: Billing) -> None:
    purchase = await billing.purchase()
    stranger = Buyer()

    assert (await billing.get(f"/purchases/{purchase['id']}", stranger))[0] == 404
    assert (await billing.get(f"/purchases/{uuid.uuid4()}"))[0] == 404
    assert (await billing.get("/purchases/not-a-uuid"))[0] == 404
    status, body = await billing.get(f"/purchases/{purchase['id']}")
    assert (status, body["id"]) == (200, purchase["id"])
