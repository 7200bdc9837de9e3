"""Billing's tables come from billing's migrations; the test payment processor's come from its own
(fakes/payments/migrations), applied only where that provider runs."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from common.db import migrate
from fakes.payments import MIGRATIONS as TEST_PROVIDER_MIGRATIONS
from services.billing.app import MIGRATIONS, provider_migrations
from services.billing.settings import BillingSettings
from tests.conftest import NewDatabase
from tests.integration.billing.harness import INTERNAL_SECRET, WEBHOOK_SECRET
from tests.integration.billing.stripe_support import (
    STRIPE_PUBLISHABLE_KEY,
    STRIPE_SECRET_KEY,
    STRIPE_WEBHOOK_SECRET,
)

TEST_PROVIDER_TABLES = {
    "test_provider_sessions", "test_provider_charges", "test_provider_webhooks", "test_provider_tokens",
    "test_provider_refunds",
}


def _settings(dsn: str, provider: str) -> BillingSettings:
    values: dict[str, Any] = {
        "database_url": dsn, "internal_token_secret": INTERNAL_SECRET, "payment_provider": provider,
    }
    if provider == "stripe":
        values |= {"stripe_secret_key": STRIPE_SECRET_KEY, "stripe_publishable_key": STRIPE_PUBLISHABLE_KEY,
                   "stripe_webhook_secret": STRIPE_WEBHOOK_SECRET}
    else:
        values["test_provider_webhook_secret"] = WEBHOOK_SECRET
    return BillingSettings(**values)


async def _migrate(dsn: str, provider: str) -> list[str]:
    return await migrate(dsn, MIGRATIONS, provider_migrations(_settings(dsn, provider)))


async def _tables(dsn: str) -> set[str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
    finally:
        await conn.close()
    return {row["table_name"] for row in rows}


async def test_a_fresh_database_migrated_for_stripe_has_no_test_provider_table(new_database: NewDatabase) -> None:
    dsn = await new_database("fresh_billing")  # empty: migrated here, from nothing

    applied = await _migrate(dsn, "stripe")

    tables = await _tables(dsn)
    assert {"purchases", "refunds", "stripe_checkouts"} <= tables
    assert {table for table in tables if table.startswith("test_provider_")} == set()
    assert not any(name.startswith("fakes/") for name in applied)


async def test_a_fresh_database_migrated_for_the_test_provider_has_its_tables(new_database: NewDatabase) -> None:
    dsn = await new_database("fresh_billing")

    applied = await _migrate(dsn, "test")

    assert TEST_PROVIDER_TABLES <= await _tables(dsn)
    assert "fakes/payments/0001_test_provider.sql" in applied
    assert await _migrate(dsn, "test") == []  # applied once


async def test_a_database_that_had_the_test_provider_tables_keeps_them_and_their_rows(
    new_database: NewDatabase,
) -> None:
    # A database made before the tables moved: billing's migrations had created them, rows and all.
    dsn = await new_database("fresh_billing")
    await _migrate(dsn, "stripe")
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute((TEST_PROVIDER_MIGRATIONS / "0001_test_provider.sql").read_text())
        await conn.execute(
            """INSERT INTO test_provider_sessions (id, purchase_id, tenant_id, quantity, total_cents, currency,
                                                   description)
               VALUES ('cs_test_kept', $1, $2, 1000, 8800, 'AUD', '1,000 SMS credits')""",
            uuid.uuid4(), uuid.uuid4(),
        )
    finally:
        await conn.close()

    applied = await _migrate(dsn, "test")

    # Both apply over the tables already there: the first adds only what is missing, the second lets a
    # session keep every declined attempt.
    assert applied == ["fakes/payments/0001_test_provider.sql", "fakes/payments/0002_declined_attempts.sql"]
    conn = await asyncpg.connect(dsn)
    try:
        assert await conn.fetchval("SELECT count(*) FROM test_provider_sessions WHERE id = 'cs_test_kept'") == 1
        # A kept session now takes a second attempt after a decline (one charge per session before).
        await conn.execute(
            """INSERT INTO test_provider_charges (id, session_id, outcome, card_brand, card_last4, failure_code)
               VALUES ('ch_declined', 'cs_test_kept', 'declined', 'visa', '0002', 'card_declined'),
                      ('ch_paid', 'cs_test_kept', 'succeeded', 'visa', '4242', NULL)"""
        )
        assert await conn.fetchval("SELECT count(*) FROM test_provider_charges WHERE session_id = 'cs_test_kept'") == 2
    finally:
        await conn.close()
