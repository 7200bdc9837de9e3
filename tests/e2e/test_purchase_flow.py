"""Buying credits end to end: gateway, billing, the test payment provider, ledger and reporting, each
its own process, over real Postgres and RabbitMQ."""

from __future__ import annotations

import io
import time
import uuid
from typing import Any

import aiohttp
from pypdf import PdfReader

from tests.e2e.conftest import Client, System
from tests.support import eventually

GOOD_CARD, DECLINED_CARD = "4242424242424242", "4000000000000002"
BILLING = {"name": "Ben Carter", "email": "ben@acme.test"}


async def own_account(client: Client) -> dict[str, Any]:
    _, me = await client.get("/api/v1/me")
    status, accounts = await client.get("/api/v1/accounts")
    assert status == 200
    [account] = [a for a in accounts if a["owner"] and a["owner"]["id"] == me["id"]]
    return account


async def start_purchase(client: Client, account_id: str, quantity: int, key: str | None = None) -> dict[str, Any]:
    status, created = await client.post(
        "/api/v1/purchases",
        {"account_id": account_id, "quantity": quantity, "billing": BILLING},
        headers={"Idempotency-Key": key or str(uuid.uuid4())},
    )
    assert status == 201, created
    return created


async def pay(http: aiohttp.ClientSession, checkout_url: str, card: str) -> dict[str, Any]:
    card_form = {"card_number": card, "exp_month": 12, "exp_year": 2035, "cvc": "123", "name": "Ben Carter"}
    async with http.post(checkout_url, json=card_form) as response:
        assert response.status == 200, await response.text()
        return dict(await response.json())


async def test_ben_buys_500_credits_and_sees_them_within_two_seconds(sign_in, http: aiohttp.ClientSession):
    ben = await sign_in("ben@acme.test")
    account = await own_account(ben)
    before = account["balance"]  # other tests may have given Ben credits already
    created = await start_purchase(ben, account["id"], 500)
    assert created["status"] == "pending" and created["quote"]["quantity"] == 500

    await pay(http, created["checkout_url"], GOOD_CARD)
    paid_at = time.monotonic()

    async def credited() -> bool:
        return (await own_account(ben))["balance"] == before + 500

    await eventually(credited, timeout=2.0)
    print(f"\npayment to visible balance: {time.monotonic() - paid_at:.3f} s")

    async def purchase_credited() -> bool:
        return (await ben.get(f"/api/v1/purchases/{created['id']}"))[1]["status"] == "credited"

    await eventually(purchase_credited, timeout=5.0)


async def test_tax_invoice_pdf_holds_the_number_the_gst_and_the_quoted_total(sign_in, http: aiohttp.ClientSession):
    cleo = await sign_in("cleo@acme.test")
    account = await own_account(cleo)
    created = await start_purchase(cleo, account["id"], 1000)
    await pay(http, created["checkout_url"], GOOD_CARD)
    status, purchase = await cleo.get(f"/api/v1/purchases/{created['id']}")
    assert status == 200 and purchase["invoice_number"]

    status, pdf, content_type = await cleo.get_bytes(f"/api/v1/purchases/{created['id']}/invoice.pdf")
    assert status == 200 and content_type == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    quote = created["quote"]
    assert "Tax Invoice" in text
    assert purchase["invoice_number"] in text
    assert "GST" in text and quote["tax"] in text
    assert quote["total"] in text
    assert "4242" in text and GOOD_CARD not in text


async def test_a_declined_card_keeps_the_purchase_pending_and_leaves_the_balance_alone_until_another_card_pays(
    sign_in, http: aiohttp.ClientSession
):
    dan = await sign_in("dan@acme.test")
    account = await own_account(dan)
    before = account["balance"]
    created = await start_purchase(dan, account["id"], 200)
    outcome = await pay(http, created["checkout_url"], DECLINED_CARD)
    assert (outcome["status"], outcome["failure_reason"]) == ("pending", "card_declined")
    status, purchase = await dan.get(f"/api/v1/purchases/{created['id']}")
    assert status == 200
    assert (purchase["status"], purchase["failure_reason"], purchase["invoice_number"]) == (
        "pending", "card_declined", None)
    assert (await own_account(dan))["balance"] == before

    # "Try another card" on the same checkout: this one pays, and the credits arrive once.
    outcome = await pay(http, created["checkout_url"], GOOD_CARD)
    assert (outcome["status"], outcome["failure_reason"]) in {("paid", None), ("credited", None)}

    async def credited() -> bool:
        # The balance moves when the ledger credits; billing marks the purchase credited when it hears so.
        _, purchase = await dan.get(f"/api/v1/purchases/{created['id']}")
        return (await own_account(dan))["balance"] == before + 200 and purchase["status"] == "credited"

    await eventually(credited, timeout=10)
    _, purchase = await dan.get(f"/api/v1/purchases/{created['id']}")
    assert (purchase["status"], purchase["failure_reason"]) == ("credited", None)
    assert purchase["invoice_number"] is not None
    # Paid now: a JSON client (an answer lost, the same card sent again) is told so, not sent to a page.
    card_form = {"card_number": GOOD_CARD, "exp_month": 12, "exp_year": 2035, "cvc": "123", "name": "Dan Reyes"}
    async with http.post(created["checkout_url"], json=card_form, allow_redirects=False) as response:
        assert (response.status, response.content_type) == (409, "application/problem+json")
        assert (await response.json())["type"].endswith("/checkout-completed")


async def test_the_same_idempotency_key_gives_the_same_purchase(sign_in):
    ben = await sign_in("ben@acme.test")
    account = await own_account(ben)
    key = str(uuid.uuid4())
    first = await start_purchase(ben, account["id"], 300, key=key)
    again = await start_purchase(ben, account["id"], 300, key=key)
    assert again["id"] == first["id"] and again["checkout_url"] == first["checkout_url"]
    status, problem = await ben.post(
        "/api/v1/purchases", {"account_id": account["id"], "quantity": 400, "billing": BILLING},
        headers={"Idempotency-Key": key},
    )
    assert status == 409 and problem["status"] == 409


async def test_another_tenant_cannot_read_an_acme_purchase(sign_in):
    ben = await sign_in("ben@acme.test")
    created = await start_purchase(ben, (await own_account(ben))["id"], 100)
    gail = await sign_in("master@globex.test")
    status, problem = await gail.get(f"/api/v1/purchases/{created['id']}")
    assert status == 404
    assert problem["type"].endswith("not-found") or problem["status"] == 404
    status, _, _ = await gail.get_bytes(f"/api/v1/purchases/{created['id']}/invoice.pdf")
    assert status == 404


async def test_purchase_rules_are_enforced_through_the_gateway(sign_in):
    ben, ava = await sign_in("ben@acme.test"), await sign_in("master@acme.test")
    status, accounts = await ava.get("/api/v1/accounts")
    by_name = {a["name"]: a["id"] for a in accounts}
    checks = [
        (ben, by_name["System Credits"], 500, 403),  # only masters buy System Credits
        (ben, by_name["Dan Reyes"], 500, 403),  # Dan is not in Ben's team
        (ben, str(uuid.uuid4()), 500, 404),  # no such account
        (ava, by_name["Ben Carter"], 50, 422),  # below the minimum purchase
        (ava, by_name["Ben Carter"], 1_000_001, 422),  # above the maximum
    ]
    for client, account_id, quantity, expected in checks:
        status, problem = await client.post(
            "/api/v1/purchases", {"account_id": account_id, "quantity": quantity, "billing": BILLING},
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        assert status == expected, (account_id, quantity, problem)
        assert {"type", "title", "status", "detail"} <= problem.keys()
    status, problem = await ben.post(
        "/api/v1/purchases", {"account_id": by_name["Ben Carter"], "quantity": "500", "billing": BILLING},
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert status == 400  # a string is not a quantity


async def test_master_of_a_shared_tenant_buys_system_credits(sign_in, http: aiohttp.ClientSession):
    gail = await sign_in("master@globex.test")
    status, accounts = await gail.get("/api/v1/accounts")
    assert status == 200
    [system] = accounts
    assert system["kind"] == "system"
    created = await start_purchase(gail, system["id"], 250)
    await pay(http, created["checkout_url"], GOOD_CARD)

    async def credited() -> bool:
        return (await gail.get(f"/api/v1/accounts/{system['id']}"))[1]["balance"] == system["balance"] + 250

    await eventually(credited, timeout=5.0)


async def test_the_purchase_shows_in_the_log_once_credited(sign_in, http: aiohttp.ClientSession):
    ava = await sign_in("master@acme.test")
    status, accounts = await ava.get("/api/v1/accounts")
    system = next(a for a in accounts if a["kind"] == "system")
    created = await start_purchase(ava, system["id"], 700)
    await pay(http, created["checkout_url"], GOOD_CARD)

    async def credited() -> bool:
        return (await ava.get(f"/api/v1/purchases/{created['id']}"))[1]["status"] == "credited"

    await eventually(credited, timeout=5.0)
    purchase = (await ava.get(f"/api/v1/purchases/{created['id']}"))[1]
    status, page = await ava.get(
        "/api/v1/logs", params={"account": system["id"], "consistency_token": purchase["consistency_token"]}
    )
    assert status == 200 and page["stale"] is False
    entry = next(e for e in page["entries"] if e["reference"] == f"purchase:{created['id']}")
    assert entry["direction"] == "in" and entry["quantity"] == 700 and entry["kind"] == "purchase"
    assert entry["account"] == "System Credits" and entry["counterparty"] == "Purchase"
    assert entry["actor"] == "Ava Nguyen"


async def test_the_hosted_checkout_page_pays_and_confirms_in_a_browser_flow(
    system: System, sign_in, http: aiohttp.ClientSession
):
    cleo = await sign_in("cleo@acme.test")
    created = await start_purchase(cleo, (await own_account(cleo))["id"], 150)
    async with http.get(created["checkout_url"]) as page:
        assert page.status == 200 and "Card number" in await page.text()
        assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    form = {"card_number": "4242424242424241", "exp_month": "12", "exp_year": "2035", "cvc": "123", "name": "C"}
    async with http.post(created["checkout_url"], data=form, allow_redirects=False) as rejected:
        assert rejected.status == 422  # fails the Luhn check: the form comes back with the error
    form["card_number"] = GOOD_CARD
    async with http.post(created["checkout_url"], data=form, allow_redirects=False) as paid:
        assert paid.status == 303
        confirmation = system.gateway_url + paid.headers["Location"]

    async def confirmed() -> bool:
        async with http.get(confirmation) as response:
            return 'data-status="credited"' in await response.text()

    await eventually(confirmed, timeout=5.0)
    async with http.get(confirmation) as response:
        html = await response.text()
    assert "Download Tax Invoice / Receipt" in html


async def test_gateway_is_ready_only_with_every_service_behind_it(system: System, http: aiohttp.ClientSession):
    async with http.get(system.gateway_url + "/readyz") as response:
        body = await response.json()
    assert response.status == 200
    assert set(body["checks"]) == {"database", "broker", "ledger", "billing", "reporting", "messaging", "webhooks"}
