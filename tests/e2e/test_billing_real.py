"""Billing for real, end to end through the gateway with every service its own process: purchases for
others, refunds as a saga over the ledger, auto top-up, operators' price lists. The system runs the
`test` payment provider; Stripe and SMTP are covered by billing's integration tests (localstripe,
aiosmtpd)."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
import uuid
from typing import Any

import aiohttp
import asyncpg
from pypdf import PdfReader

from tests.e2e.conftest import ROOT, Client, System
from tests.e2e.test_purchase_flow import GOOD_CARD, pay, start_purchase
from tests.support import eventually

REFUND_FAILS_CARD = "4000000000005126"  # pays; a refund of it is refused by the provider
SAVED_CARD_DECLINES = "4000000000000341"  # pays; a later charge of the saved card is declined


async def accounts_by_name(client: Client) -> dict[str, dict[str, Any]]:
    status, accounts = await client.get("/api/v1/accounts")
    assert status == 200, accounts
    return {a["name"]: a for a in accounts}


async def credited(client: Client, http: aiohttp.ClientSession, account_id: str, quantity: int,
                   card: str = GOOD_CARD) -> dict[str, Any]:
    created = await start_purchase(client, account_id, quantity)
    await pay(http, created["checkout_url"], card)

    async def done() -> bool:
        return (await client.get(f"/api/v1/purchases/{created['id']}"))[1]["status"] == "credited"

    await eventually(done, timeout=5)
    return dict((await client.get(f"/api/v1/purchases/{created['id']}"))[1])


async def refund(client: Client, purchase_id: str, quantity: int) -> tuple[int, Any]:
    return await client.post(f"/api/v1/purchases/{purchase_id}/refunds", {"quantity": quantity},
                             headers={"Idempotency-Key": str(uuid.uuid4())})


async def put(client: Client, path: str, body: Any) -> tuple[int, Any]:
    async with client.session.put(client.base + path, json=body,
                                  headers={"Authorization": f"Bearer {client.token}"}) as response:
        return response.status, await response.json(content_type=None)


async def delete(client: Client, path: str) -> tuple[int, Any]:
    async with client.session.delete(client.base + path, headers={"Authorization": f"Bearer {client.token}"}) as r:
        return r.status, await r.json(content_type=None)


async def heard_by_the_ledger(system: System, account_id: str, watched: bool) -> None:
    """Auto top-up takes effect once the ledger has heard of the switch (one event's latency): from then
    on it marks the account's transactions for billing."""
    conn = await asyncpg.connect(system.database_url("ledger"))
    try:
        async def heard() -> bool:
            found = await conn.fetchval("SELECT watched FROM top_up_watches WHERE account_id = $1",
                                        uuid.UUID(account_id))
            return found is watched

        await eventually(heard, timeout=10)
    finally:
        await conn.close()


def pdf_text(pdf: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


async def test_a_master_buys_a_users_credits_and_the_invoice_names_the_buyer_and_the_account(
    sign_in, http: aiohttp.ClientSession
) -> None:
    ava = await sign_in("master@acme.test")
    ben_account = (await accounts_by_name(ava))["Ben Carter"]
    purchase = await credited(ava, http, ben_account["id"], 400)

    status, pdf, _ = await ava.get_bytes(f"/api/v1/purchases/{purchase['id']}/invoice.pdf")
    text = pdf_text(pdf)
    assert status == 200
    assert "Credits for User Credits of Ben Carter" in text and "Bought by Ava Nguyen" in text
    status, profile = await ava.get("/api/v1/me/billing-details")
    assert status == 200 and profile["billing"]["email"] == "ben@acme.test"  # what she typed, offered next time
    assert profile["card"] == {"brand": "visa", "last4": "4242"}


async def test_a_master_refunds_part_then_the_rest_and_the_adjustment_notes_reverse_the_gst(
    sign_in, http: aiohttp.ClientSession
) -> None:
    ava = await sign_in("master@acme.test")
    system = (await accounts_by_name(ava))["System Credits"]
    purchase = await credited(ava, http, system["id"], 1234)
    before = (await accounts_by_name(ava))["System Credits"]["balance"]

    status, first = await refund(ava, purchase["id"], 400)
    assert status == 201, first
    assert first["status"] == "refunded" and first["adjustment_note_url"].endswith("/adjustment-note.pdf")
    status, rest = await refund(ava, purchase["id"], 834)
    assert status == 201 and rest["status"] == "refunded"

    assert (await accounts_by_name(ava))["System Credits"]["balance"] == before - 1234
    quote = purchase["quote"]
    assert _cents(first["tax"]) + _cents(rest["tax"]) == _cents(quote["tax"])
    assert _cents(first["total"]) + _cents(rest["total"]) == _cents(quote["total"])
    status, pdf, content_type = await ava.get_bytes(first["adjustment_note_url"])
    note = pdf_text(pdf)
    assert status == 200 and content_type == "application/pdf"
    assert "Adjustment Note" in note and purchase["invoice_number"] in note and f"-${first['tax']}" in note
    status, problem = await refund(ava, purchase["id"], 1)
    assert status == 422, problem


def _cents(amount: str) -> int:
    whole, _, fraction = amount.partition(".")
    return int(whole) * 100 + int(fraction or 0)


async def test_refunding_more_than_the_account_has_left_is_refused_and_changes_nothing(
    sign_in, http: aiohttp.ClientSession
) -> None:
    ava, cleo = await sign_in("master@acme.test"), await sign_in("cleo@acme.test")
    accounts = await accounts_by_name(ava)
    purchase = await credited(ava, http, accounts["Cleo Park"]["id"], 300)
    cleo_now = (await accounts_by_name(ava))["Cleo Park"]
    status, moved = await ava.post("/api/v1/transfers", {
        "from_account": cleo_now["id"], "to_account": accounts["System Credits"]["id"],
        "quantity": cleo_now["available"] - 100, "accept_terms": True,
    }, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert status == 201, moved

    status, problem = await refund(ava, purchase["id"], 101)
    assert status == 422 and problem["type"].endswith("insufficient-credits")
    assert (await accounts_by_name(ava))["Cleo Park"]["available"] == 100
    assert (await refund(cleo, purchase["id"], 10))[0] == 403  # only masters refund


async def test_a_refund_the_provider_refuses_gives_the_credits_back_and_the_log_shows_both(
    sign_in, http: aiohttp.ClientSession
) -> None:
    ava = await sign_in("master@acme.test")
    system = (await accounts_by_name(ava))["System Credits"]
    purchase = await credited(ava, http, system["id"], 300, card=REFUND_FAILS_CARD)
    before = (await accounts_by_name(ava))["System Credits"]["balance"]

    status, refused = await refund(ava, purchase["id"], 300)
    assert status == 201 and refused["status"] == "failed" and refused["adjustment_note_url"] is None

    async def restored() -> bool:
        path = f"/api/v1/purchases/{purchase['id']}/refunds/{refused['id']}"
        return bool((await ava.get(path))[1]["credits_restored"])

    await eventually(restored, timeout=5)
    assert (await accounts_by_name(ava))["System Credits"]["balance"] == before

    async def both_logged() -> bool:
        _, page = await ava.get("/api/v1/logs", params={"account": system["id"], "kind": "refund"})
        mine = [e for e in page["entries"] if e["reference"] == f"refund:{refused['id']}"]
        return sorted(e["direction"] for e in mine) == ["in", "out"]

    await eventually(both_logged, timeout=5)


async def service_client(system: System, http: aiohttp.ClientSession) -> Client:
    client_id = f"e2e-billing-{uuid.uuid4().hex[:8]}"
    made = subprocess.run([sys.executable, "-m", "gateway", "service-client", client_id], cwd=ROOT,
                          env=system.env, capture_output=True, check=True)
    secret = made.stdout.decode().strip().splitlines()[-1]
    anonymous = Client(http, system.gateway_url)
    status, token = await anonymous.post("/api/v1/auth/service-token",
                                         {"client_id": client_id, "client_secret": secret})
    assert status == 200, token
    return Client(http, system.gateway_url, token["access_token"])


async def hold(service: Client, account_id: str, quantity: int) -> dict[str, Any]:
    status, body = await service.post("/api/v1/holds", {"account_id": account_id, "quantity": quantity},
                                      headers={"Idempotency-Key": str(uuid.uuid4())})
    assert status == 201, body
    return dict(body)


async def test_a_burst_of_parallel_spending_across_the_threshold_tops_up_exactly_once(
    system: System, sign_in, http: aiohttp.ClientSession
) -> None:
    ava = await sign_in("master@acme.test")
    mine = (await accounts_by_name(ava))["Ava Nguyen"]
    await credited(ava, http, mine["id"], 1000)  # her card is now saved
    available = (await accounts_by_name(ava))["Ava Nguyen"]["available"]
    status, config = await put(ava, f"/api/v1/accounts/{mine['id']}/auto-top-up",
                                        {"threshold": available - 500, "quantity": 1000, "daily_cap": 10000})
    assert status == 200 and config["status"] == "active", config
    await heard_by_the_ledger(system, mine["id"], watched=True)
    service = await service_client(system, http)

    holds = await asyncio.gather(*(hold(service, mine["id"], 50) for _ in range(20)))  # 1,000 credits

    async def topped_up() -> bool:
        return (await accounts_by_name(ava))["Ava Nguyen"]["balance"] == available + 1000

    await eventually(topped_up, timeout=10)
    await asyncio.sleep(1.5)  # any second top-up would have been bought by now
    after = (await accounts_by_name(ava))["Ava Nguyen"]
    assert after["balance"] == available + 1000 and after["available"] == available
    for placed in holds:
        await service.post(f"/api/v1/holds/{placed['id']}/void", {})
    await delete(ava, f"/api/v1/accounts/{mine['id']}/auto-top-up")
    await heard_by_the_ledger(system, mine["id"], watched=False)


async def test_a_declined_saved_card_is_tried_once_and_auto_top_up_is_suspended(
    system: System, sign_in, http: aiohttp.ClientSession
) -> None:
    dan = await sign_in("dan@acme.test")
    mine = (await accounts_by_name(dan))["Dan Reyes"]
    await credited(dan, http, mine["id"], 200, card=SAVED_CARD_DECLINES)
    before = (await accounts_by_name(dan))["Dan Reyes"]
    status, _ = await put(dan, f"/api/v1/accounts/{mine['id']}/auto-top-up",
                                   {"threshold": before["available"] + 1, "quantity": 500, "daily_cap": 5000})
    assert status == 200
    await heard_by_the_ledger(system, mine["id"], watched=True)
    service = await service_client(system, http)
    placed = [await hold(service, mine["id"], 1) for _ in range(3)]

    async def suspended() -> bool:
        return (await dan.get(f"/api/v1/accounts/{mine['id']}/auto-top-up"))[1]["status"] == "suspended"

    await eventually(suspended, timeout=10)
    _, config = await dan.get(f"/api/v1/accounts/{mine['id']}/auto-top-up")
    assert config["suspended_reason"] == "card_declined"
    assert (await accounts_by_name(dan))["Dan Reyes"]["balance"] == before["balance"]
    for one in placed:
        await service.post(f"/api/v1/holds/{one['id']}/void", {})


async def test_an_operator_sets_a_tenants_price_list_and_started_purchases_keep_their_quote(
    sign_in, http: aiohttp.ClientSession
) -> None:
    olive, gail = await sign_in("ops@platform.test"), await sign_in("master@globex.test")
    _, me = await gail.get("/api/v1/me")
    tenant_id = me["tenant"]["id"]
    [system] = (await accounts_by_name(gail)).values()
    started = await start_purchase(gail, system["id"], 1000)
    prices = {"currency": "AUD", "tax_name": "GST", "tax_rate": "0.10", "min_quantity": 100, "max_quantity": 1000000,
              "tiers": [{"min_quantity": 100, "unit_price": "0.0500"}]}
    try:
        status, saved = await put(olive, f"/api/v1/admin/tenants/{tenant_id}/price-list", prices)
        assert status == 200 and saved["source"] == "tenant", saved
        status, quote = await gail.get("/api/v1/quotes", params={"quantity": 1000})
        assert quote["total"] == "55.00"
        # Her people see the new prices before they buy; another tenant's, or an operator's route, they do not.
        status, shown = await gail.get("/api/v1/prices")
        assert status == 200 and shown["tiers"] == [{"min_quantity": 100, "unit_price": "0.0500"}], shown
        assert (shown["min_quantity"], shown["max_quantity"], shown["tax_rate"]) == (100, 1000000, "0.10")
        assert (await gail.get(f"/api/v1/admin/tenants/{tenant_id}/price-list"))[0] == 403
        await pay(http, started["checkout_url"], GOOD_CARD)
        _, paid = await gail.get(f"/api/v1/purchases/{started['id']}")
        assert paid["quote"]["total"] == started["quote"]["total"] == "88.00"
        assert (await put(gail, f"/api/v1/admin/tenants/{tenant_id}/price-list", prices))[0] == 403
        assert (await put(olive, f"/api/v1/admin/tenants/{uuid.uuid4()}/price-list", prices))[0] == 404
    finally:
        prices["tiers"] = [{"min_quantity": q, "unit_price": p} for q, p in
                           ((100, "0.0800"), (10000, "0.0700"), (50000, "0.0600"), (200000, "0.0500"))]
        await put(olive, f"/api/v1/admin/tenants/{tenant_id}/price-list", prices)
