from __future__ import annotations

from common.identity import Identity, issue_internal_token
from tests.integration.billing.harness import INTERNAL_SECRET, Billing


async def test_quote_prices_the_whole_quantity_at_its_tier_and_adds_gst(billing: Billing) -> None:
    status, body = await billing.get("/quotes?quantity=10000")

    assert status == 200
    assert body == {
        "quantity": 10000, "unit_price": "0.0700", "subtotal": "700.00", "tax_name": "GST",
        "tax_rate": "0.10", "tax": "70.00", "total": "770.00", "currency": "AUD",
        "credit_validity_months": 12,  # the default list of a new database (migration 0006)
    }


async def test_quote_rounds_half_up_to_the_cent(billing: Billing) -> None:
    # 687 x 0.08 = 54.96; GST 5.496 rounds to 5.50.
    status, body = await billing.get("/quotes?quantity=687")

    assert status == 200
    assert (body["subtotal"], body["tax"], body["total"]) == ("54.96", "5.50", "60.46")


async def test_quote_outside_the_quantity_limits_is_refused_with_422(billing: Billing) -> None:
    for quantity in (99, 1_000_001, 0, -5):
        status, body = await billing.get(f"/quotes?quantity={quantity}")
        assert status == 422, quantity
        assert body["errors"][0]["field"] == "quantity"


async def test_quote_of_a_quantity_that_is_not_an_integer_is_malformed(billing: Billing) -> None:
    for query in ("quantity=ten", "quantity=100.5", ""):
        status, body = await billing.get(f"/quotes?{query}")
        assert status == 400, query
        assert body["type"] == "/problems/malformed-request"


async def test_a_tenant_with_its_own_price_list_is_quoted_from_it(billing: Billing) -> None:
    async with billing.pool.acquire() as conn:
        list_id = await conn.fetchval(
            """INSERT INTO price_lists (tenant_id, currency, tax_name, tax_rate, min_quantity, max_quantity)
               VALUES ($1, 'AUD', 'GST', 0.10, 500, 5000) RETURNING id""",
            billing.buyer.tenant_id,
        )
        await conn.execute("INSERT INTO price_tiers VALUES ($1, 500, 0.0450)", list_id)

    status, body = await billing.get("/quotes?quantity=1000")
    assert status == 200
    assert (body["unit_price"], body["total"]) == ("0.0450", "49.50")
    status, _ = await billing.get("/quotes?quantity=100")
    assert status == 422


async def test_a_call_without_the_gateways_token_is_refused(billing: Billing) -> None:
    response = await billing.client.get("/quotes?quantity=1000")
    assert response.status == 401
    other_audience = issue_internal_token(Identity(role="user"), INTERNAL_SECRET, "ledger")
    response = await billing.client.get(
        "/quotes?quantity=1000", headers={"Authorization": f"Bearer {other_audience}"}
    )
    assert response.status == 401
