"""Purchased credits expire as the price list in force when the purchase was made says: published on
`billing.purchase.paid`, stated on the tax invoice, and kept by the purchase whatever the list says later."""

from __future__ import annotations

import io
import shutil
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pypdf

from common.contracts import events
from common.db import migrate
from services.billing.app import MIGRATIONS
from tests.conftest import NewDatabase
from tests.integration.billing.harness import Billing, Buyer, EventTap

OPERATOR = Buyer(tenant_id=None, role="operator")  # type: ignore[arg-type]


def _price_list(**overrides: Any) -> dict[str, Any]:
    return {"currency": "AUD", "tax_name": "GST", "tax_rate": "0.10", "min_quantity": 100, "max_quantity": 100_000,
            "tiers": [{"min_quantity": 100, "unit_price": "0.0800"}], **overrides}


async def _set_price_list(billing: Billing, **overrides: Any) -> tuple[int, Any]:
    response = await billing.client.put(f"/price-lists/{billing.buyer.tenant_id}", json=_price_list(**overrides),
                                        headers=billing.headers(OPERATOR))
    return response.status, await response.json()


async def _paid_event(billing: Billing, published: EventTap, purchase: dict[str, Any]) -> events.PurchasePaid:
    status, _ = await billing.pay(purchase)
    assert status == 200
    event = await published.wait_for(events.PURCHASE_PAID, purchase["id"])
    return event.payload(events.PurchasePaid)


def _a_year_later(moment: datetime) -> datetime:
    """Twelve calendar months on, worked out the plain way (29 February has no twin: the 28th)."""
    day = 28 if (moment.month, moment.day) == (2, 29) else moment.day
    return moment.replace(year=moment.year + 1, day=day)


async def test_a_purchase_under_a_12_month_list_publishes_credits_expiring_12_months_after_payment(
    billing: Billing, published: EventTap
) -> None:
    assert (await _set_price_list(billing, credit_validity_months=12))[0] == 200
    purchase = await billing.purchase(quantity=1000)
    assert purchase["quote"]["credit_validity_months"] == 12

    paid = await _paid_event(billing, published, purchase)

    assert paid.credits_expire_at is not None
    assert paid.credits_expire_at == _a_year_later(paid.paid_at)
    response = await billing.client.get(f"/purchases/{purchase['id']}/invoice.pdf", headers=billing.headers())
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(await response.read())).pages)
    expires = paid.credits_expire_at.astimezone(ZoneInfo(billing.settings.invoice_timezone))
    assert f"Credits expire on {expires.day} {expires:%B %Y}" in text


async def test_a_purchase_under_a_list_whose_credits_never_expire_publishes_no_expiry(
    billing: Billing, published: EventTap
) -> None:
    assert (await _set_price_list(billing, credit_validity_months=None))[0] == 200
    purchase = await billing.purchase(quantity=1000)
    assert purchase["quote"]["credit_validity_months"] is None

    paid = await _paid_event(billing, published, purchase)

    assert paid.credits_expire_at is None


async def test_editing_the_list_after_a_purchase_was_made_does_not_change_what_it_sold(
    billing: Billing, published: EventTap
) -> None:
    await _set_price_list(billing, credit_validity_months=12)
    sold_for_a_year = await billing.purchase(quantity=1000)
    await _set_price_list(billing, credit_validity_months=None)
    sold_forever = await billing.purchase(quantity=1000)
    await _set_price_list(billing, credit_validity_months=24)

    for_a_year = await _paid_event(billing, published, sold_for_a_year)
    forever = await _paid_event(billing, published, sold_forever)

    assert for_a_year.credits_expire_at == _a_year_later(for_a_year.paid_at)
    assert forever.credits_expire_at is None
    _, read_back = await billing.get(f"/purchases/{sold_for_a_year['id']}")
    assert read_back["quote"]["credit_validity_months"] == 12


async def test_the_default_list_of_a_new_database_sells_12_month_credits_and_says_so(billing: Billing) -> None:
    status, quote = await billing.get("/quotes?quantity=1000")
    assert (status, quote["credit_validity_months"]) == (200, 12)
    status, prices = await billing.get(f"/price-lists/{billing.buyer.tenant_id}")
    assert (status, prices["source"], prices["credit_validity_months"]) == (200, "default", 12)


async def test_a_price_list_sent_without_a_validity_keeps_the_one_in_force(billing: Billing) -> None:
    status, saved = await _set_price_list(billing)  # the tenant's first own list: the default's 12 carry over
    assert (status, saved["credit_validity_months"]) == (200, 12)
    await _set_price_list(billing, credit_validity_months=None)
    status, saved = await _set_price_list(billing, tax_rate="0.15")
    assert (status, saved["tax_rate"], saved["credit_validity_months"]) == (200, "0.15", None)
    status, saved = await _set_price_list(billing, credit_validity_months=6)
    assert (status, saved["credit_validity_months"]) == (200, 6)


async def test_a_validity_outside_1_to_120_months_is_refused_with_422_and_changes_nothing(billing: Billing) -> None:
    await _set_price_list(billing, credit_validity_months=12)
    for months in (0, 121, -3):
        status, problem = await _set_price_list(billing, credit_validity_months=months, tax_rate="0.15")
        assert status == 422, months
        assert problem["type"] == "/problems/price-list-invalid"
        assert [e["field"] for e in problem["errors"]] == ["credit_validity_months"]
    for malformed in ("12", 1.5, True):
        status, problem = await _set_price_list(billing, credit_validity_months=malformed)
        assert status == 400, malformed
    _, prices = await billing.get(f"/price-lists/{billing.buyer.tenant_id}")
    assert (prices["tax_rate"], prices["credit_validity_months"]) == ("0.10", 12)


async def test_the_migration_keeps_the_terms_of_a_database_that_has_sold_credits(
    new_database: NewDatabase, tmp_path: Path
) -> None:
    dsn = await new_database("billing_before_credit_validity")
    before = tmp_path / "migrations"
    before.mkdir()
    for script in sorted(MIGRATIONS.glob("*.sql")):
        if script.name < "0006":
            shutil.copy(script, before / script.name)
    await migrate(dsn, before)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            """INSERT INTO purchases (id, tenant_id, idempotency_key, request_fingerprint, buyer_user_id, account_id,
                                      account_code, quantity, unit_price, subtotal_cents, tax_name, tax_rate,
                                      tax_cents, total_cents, currency, billing_name, billing_email)
               VALUES ($1, $2, 'k', 'f', $3, $4, 'system', 100, 0.08, 800, 'GST', 0.10, 80, 880, 'AUD', 'Jo',
                       'jo@example.com')""",
            uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4(),
        )

        assert "service/0006_credit_validity.sql" in await migrate(dsn, MIGRATIONS)

        assert await conn.fetchval("SELECT credit_validity_months FROM price_lists WHERE tenant_id IS NULL") is None
        assert await conn.fetchval("SELECT credit_validity_months FROM purchases") is None  # sold as never expiring
        made_now = await conn.fetchval(
            """INSERT INTO price_lists (tenant_id, currency, tax_name, tax_rate, min_quantity, max_quantity)
               VALUES ($1, 'AUD', 'GST', 0.10, 100, 1000) RETURNING credit_validity_months""",
            uuid.uuid4(),
        )
        assert made_now == 12
    finally:
        await conn.close()
