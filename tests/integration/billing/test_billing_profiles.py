"""Purchases for others: who bought and whose credits are on the purchase and its invoice; the buyer's
billing details are kept and offered next time; operators set a tenant's price list."""

from __future__ import annotations

import io
import uuid
from typing import Any

from pypdf import PdfReader

from common import accounts
from common.contracts import events
from common.contracts.events import UserChanged
from tests.integration.billing.harness import Billing, Buyer
from tests.integration.billing.ledger_support import ledger_event, publish
from tests.support import eventually


def _named(tenant: uuid.UUID, user: uuid.UUID, name: str, version: int = 1) -> events.Event:
    change = UserChanged(tenant_id=tenant, user_id=user, name=name, role="user", team=None, active=True,
                         send_sms=True, manage_credits=False, version=version)
    return ledger_event(events.USER_CHANGED, change)


async def test_a_purchase_for_another_user_names_the_buyer_and_the_credited_account_on_the_invoice(
    billing: Billing,
) -> None:
    tenant, master = billing.buyer.tenant_id, billing.buyer.user_id
    ben = uuid.uuid4()
    await publish(billing, _named(tenant, master, "Ava Nguyen"), _named(tenant, ben, "Ben Old Name"),
                  _named(tenant, ben, "Ben Carter", version=2))

    async def known() -> bool:
        async with billing.pool.acquire() as conn:
            return bool(await conn.fetchval("SELECT count(*) FROM directory_users WHERE version = 2"))

    await eventually(known)
    code = accounts.user_code(ben)
    body = {**billing.buyer.purchase_body(1000), "account_code": code,
            "account_id": str(accounts.account_id(tenant, code))}
    response = await billing.client.post("/purchases", json=body, headers=billing.headers(key=uuid.uuid4().hex))
    purchase = await response.json()
    assert purchase["buyer_user_id"] == str(master) and purchase["account_code"] == code
    await billing.pay(purchase)

    _, paid = await billing.get(f"/purchases/{purchase['id']}")
    assert (paid["buyer_name"], paid["account_name"]) == ("Ava Nguyen", "User Credits of Ben Carter")
    pdf = await (await billing.client.get(f"/purchases/{purchase['id']}/invoice.pdf",
                                          headers=billing.headers())).read()
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "Credits for User Credits of Ben Carter" in text and "Bought by Ava Nguyen" in text


async def test_the_billing_details_used_last_and_the_saved_card_are_offered_next_time(billing: Billing) -> None:
    status, empty = await billing.get("/billing-profile")
    assert status == 200 and empty == {"billing": None, "card": None}
    purchase = await billing.purchase()
    await billing.pay(purchase)

    status, profile = await billing.get("/billing-profile")
    assert profile["billing"] == {"name": "Jo Citizen", "email": "jo@example.com.au", "company": "Citizen Realty",
                                  "tax_id": "53 004 085 616", "address": "2 George St, Sydney NSW 2000"}
    assert profile["card"] == {"brand": "visa", "last4": "4242"}
    assert (await billing.get("/billing-profile", Buyer(tenant_id=billing.buyer.tenant_id)))[1]["billing"] is None


def _price_list(**overrides: Any) -> dict[str, Any]:
    return {"currency": "NZD", "tax_name": "GST", "tax_rate": "0.15", "min_quantity": 200, "max_quantity": 50000,
            "tiers": [{"min_quantity": 200, "unit_price": "0.0900"}, {"min_quantity": 5000, "unit_price": "0.0750"}],
            **overrides}


async def test_an_operator_sets_a_tenants_price_list_and_a_purchase_keeps_the_prices_it_was_quoted(
    billing: Billing,
) -> None:
    tenant = billing.buyer.tenant_id
    operator = Buyer(tenant_id=None, role="operator")  # type: ignore[arg-type]
    quoted = await billing.purchase(quantity=1000)  # AUD 0.08 + 10% GST: 88.00
    response = await billing.client.put(f"/price-lists/{tenant}", json=_price_list(), headers=billing.headers(operator))
    assert response.status == 200, await response.text()
    saved = await response.json()
    assert (saved["source"], saved["currency"], saved["tax_rate"]) == ("tenant", "NZD", "0.15")

    status, quote = await billing.get("/quotes?quantity=1000")
    assert status == 200
    assert (quote["currency"], quote["total"]) == ("NZD", "103.50")
    await billing.pay(quoted)
    _, paid = await billing.get(f"/purchases/{quoted['id']}")
    assert (paid["quote"]["currency"], paid["quote"]["total"]) == ("AUD", "88.00")

    response = await billing.client.put(f"/price-lists/{tenant}", json=_price_list(), headers=billing.headers())
    assert response.status == 403  # a tenant's own master may not
    response = await billing.client.put(f"/price-lists/{tenant}", json=_price_list(currency="JPY", tax_rate="2"),
                                        headers=billing.headers(operator))
    assert response.status == 422
    assert {e["field"] for e in (await response.json())["errors"]} == {"currency", "tax_rate"}
