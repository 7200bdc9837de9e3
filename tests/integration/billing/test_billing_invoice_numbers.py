"""Tax document numbers are unique for the supplier: every tenant's invoices (and adjustment notes) are
issued under the one platform ABN, so each tenant's gapless series carries a prefix of its own, made from
its name as the directory announces it. Issued numbers are never renumbered."""

from __future__ import annotations

import asyncio
import io
import shutil
import uuid
from pathlib import Path

import asyncpg
import pypdf

from common.contracts.events import TenantChanged
from common.db import migrate
from services.billing.app import MIGRATIONS
from services.billing.invoices import store as invoices
from services.billing.invoices.domain import prefix_from_id
from services.billing.profiles import usecases as profiles
from tests.conftest import NewDatabase
from tests.integration.billing.harness import Billing, Buyer, billing_details, webhook_body


async def name_tenant(billing: Billing, tenant_id: uuid.UUID, name: str, version: int = 1) -> None:
    """The directory's tenant_changed, as billing's consumer hands it on."""
    change = TenantChanged(tenant_id=tenant_id, name=name, credit_mode="shared", timezone="Australia/Sydney",
                           low_balance_threshold=100, version=version)
    await profiles.tenant_changed(billing.pool, uuid.uuid4(), change)


async def paid(billing: Billing, buyer: Buyer, **details: str) -> dict[str, object]:
    response = await billing.client.post(
        "/purchases", json={**buyer.purchase_body(1000), "billing": billing_details(**details)},
        headers=billing.headers(buyer, uuid.uuid4().hex),
    )
    assert response.status == 201, await response.text()
    purchase = await response.json()
    status, _ = await billing.post_webhook(webhook_body(purchase))
    assert status == 200
    return dict((await billing.get(f"/purchases/{purchase['id']}", buyer))[1])


async def note_number(billing: Billing, tenant_id: uuid.UUID) -> str:
    async with billing.pool.acquire() as conn, conn.transaction():
        return await invoices.allocate_note_number(conn, tenant_id)


async def test_two_customers_never_share_a_number_and_each_series_stays_gapless(billing: Billing) -> None:
    acme, globex = Buyer(), Buyer()
    await name_tenant(billing, acme.tenant_id, "Acme Realty")
    await name_tenant(billing, globex.tenant_id, "Globex")

    numbers = [(await paid(billing, buyer))["invoice_number"] for buyer in (acme, globex, acme, globex, acme)]

    assert numbers == ["INV-ACME-000001", "INV-GLOBEX-000001", "INV-ACME-000002", "INV-GLOBEX-000002",
                       "INV-ACME-000003"]
    assert [await note_number(billing, t) for t in (acme.tenant_id, globex.tenant_id, acme.tenant_id)] == [
        "ADJ-ACME-000001", "ADJ-GLOBEX-000001", "ADJ-ACME-000002"]


async def test_a_prefix_never_changes_once_given_and_another_tenant_of_the_same_name_gets_its_own(
    billing: Billing,
) -> None:
    first, namesake = Buyer(), Buyer()
    await name_tenant(billing, first.tenant_id, "Acme Realty")
    await name_tenant(billing, first.tenant_id, "Zenith Homes", version=2)  # renamed: numbers keep their prefix
    await name_tenant(billing, namesake.tenant_id, "ACME Rentals")

    assert (await paid(billing, first))["invoice_number"] == "INV-ACME-000001"
    assert (await paid(billing, namesake))["invoice_number"] == "INV-ACME2-000001"


async def test_a_tenant_billing_has_not_heard_of_yet_is_prefixed_by_its_id_from_then_on(billing: Billing) -> None:
    unheard = Buyer()

    assert (await paid(billing, unheard))["invoice_number"] == f"INV-{prefix_from_id(unheard.tenant_id)}-000001"
    await name_tenant(billing, unheard.tenant_id, "Acme Realty")  # too late: its invoice is out already
    assert (await paid(billing, unheard))["invoice_number"] == f"INV-{prefix_from_id(unheard.tenant_id)}-000002"


async def test_tenants_named_alike_at_the_same_moment_get_distinct_prefixes(billing: Billing) -> None:
    tenants = [uuid.uuid4() for _ in range(12)]

    async def assign(tenant_id: uuid.UUID) -> str:
        async with billing.pool.acquire() as conn, conn.transaction():
            return await invoices.assign_prefix(conn, tenant_id, "Acme Realty")

    prefixes = await asyncio.gather(*(assign(t) for t in tenants))

    assert sorted(prefixes) == sorted(["ACME", *(f"ACME{n}" for n in range(2, 13))])
    assert await asyncio.gather(*(assign(t) for t in tenants)) == prefixes  # and keep them


async def test_the_pdf_downloads_under_its_number_and_keeps_the_addresss_lines(billing: Billing) -> None:
    buyer = Buyer()
    await name_tenant(billing, buyer.tenant_id, "Acme Realty")
    purchase = await paid(billing, buyer, address="Level 3\n2 George St\nSydney NSW 2000")

    response = await billing.client.get(f"/purchases/{purchase['id']}/invoice.pdf", headers=billing.headers(buyer))

    assert response.status == 200
    assert response.headers["Content-Disposition"] == 'attachment; filename="INV-ACME-000001.pdf"'
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(await response.read())).pages)
    assert "Level 3\n2 George St\nSydney NSW 2000" in text


async def test_a_made_up_abn_is_refused_and_a_real_one_is_kept_as_it_is_written(billing: Billing) -> None:
    buyer = Buyer()
    response = await billing.client.post(
        "/purchases", json={**buyer.purchase_body(), "billing": billing_details(tax_id="12 345 678 901")},
        headers=billing.headers(buyer, uuid.uuid4().hex),
    )
    assert response.status == 422
    problem = await response.json()
    assert problem["detail"] == "This ABN is not valid (check the digits)."
    assert problem["errors"] == [{"field": "billing.tax_id", "message": "This ABN is not valid (check the digits)"}]

    purchase = await paid(billing, buyer, tax_id="51824753556")
    async with billing.pool.acquire() as conn:
        kept = await conn.fetchval("SELECT billing_tax_id FROM purchases WHERE id = $1", uuid.UUID(str(purchase["id"])))
    assert kept == "51 824 753 556"


async def _issued(conn: asyncpg.Connection, tenant_id: uuid.UUID, number: int) -> uuid.UUID:
    """A paid purchase as a database made before prefixes holds it."""
    purchase_id = uuid.uuid4()
    await conn.execute(
        """INSERT INTO purchases (id, tenant_id, idempotency_key, request_fingerprint, buyer_user_id, account_id,
                                  account_code, quantity, unit_price, subtotal_cents, tax_name, tax_rate, tax_cents,
                                  total_cents, currency, billing_name, billing_email, status, invoice_number, paid_at)
           VALUES ($1, $2, $3, 'f', $4, $5, 'system', 100, 0.08, 800, 'GST', 0.10, 80, 880, 'AUD', 'Jo',
                   'jo@example.com', 'credited', $6, now())""",
        purchase_id, tenant_id, uuid.uuid4().hex, uuid.uuid4(), uuid.uuid4(), f"INV-{number:06d}",
    )
    await conn.execute(
        """INSERT INTO invoice_counters AS c (tenant_id, last_number) VALUES ($1, $2)
           ON CONFLICT (tenant_id) DO UPDATE SET last_number = $2""",
        tenant_id, number,
    )
    return purchase_id


async def test_an_existing_database_keeps_its_issued_numbers_and_carries_each_series_on(
    new_database: NewDatabase, tmp_path: Path,
) -> None:
    dsn = await new_database("billing_before_prefixes")
    before = tmp_path / "migrations"
    before.mkdir()
    for script in sorted(MIGRATIONS.glob("*.sql")):
        if script.name < "0005":
            shutil.copy(script, before / script.name)
    await migrate(dsn, before)
    acme, globex = uuid.uuid4(), uuid.uuid4()
    conn = await asyncpg.connect(dsn)
    try:
        issued = {await _issued(conn, acme, n): f"INV-{n:06d}" for n in (1, 2, 3)}
        issued[await _issued(conn, globex, 1)] = "INV-000001"  # the very repeat the prefixes end

        assert "service/0005_document_prefixes.sql" in await migrate(dsn, MIGRATIONS)

        rows = await conn.fetch("SELECT id, invoice_number FROM purchases")
        assert {row["id"]: row["invoice_number"] for row in rows} == issued  # nothing renumbered
        async with conn.transaction():
            await invoices.assign_prefix(conn, acme, "Acme Realty")
            assert await invoices.allocate_invoice_number(conn, acme) == "INV-ACME-000004"
            assert await invoices.allocate_invoice_number(conn, globex) == f"INV-{prefix_from_id(globex)}-000002"
    finally:
        await conn.close()
