from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from common.db import connect
from tests.integration.ledger.conftest import LedgerHarness, purchase_paid


async def _wait_for_balance(ledger: LedgerHarness, tenant: uuid.UUID, code: str, expected: int) -> None:
    for _ in range(100):
        if (await ledger.balances(tenant, code))[code] == expected:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{code} never reached {expected}: {await ledger.balances(tenant, code)}")


async def test_paid_purchase_credits_the_account_and_publishes_the_transaction(ledger: LedgerHarness):
    tenant = uuid.uuid4()
    code = f"user:{uuid.uuid4()}"
    await ledger.publish(purchase_paid(tenant, code, 500))
    await _wait_for_balance(ledger, tenant, code, 500)
    conn = await connect(ledger.dsn)
    try:
        rows = await conn.fetch("SELECT routing_key, envelope FROM outbox")
        assert [r["routing_key"] for r in rows] == ["ledger.transaction.posted"]
        postings = rows[0]["envelope"]["data"]["postings"]
        assert sorted((p["account_code"], p["amount"]) for p in postings) == sorted([("world", -500), (code, 500)])
    finally:
        await conn.close()


async def test_the_same_paid_event_delivered_twice_credits_once(ledger: LedgerHarness):
    tenant = uuid.uuid4()
    event = purchase_paid(tenant, "system", 300)
    await ledger.publish(event)
    await ledger.publish(event)
    await _wait_for_balance(ledger, tenant, "system", 300)
    await asyncio.sleep(0.3)  # give a wrongly applied duplicate the time to show
    assert (await ledger.balances(tenant, "system"))["system"] == 300


async def test_two_different_events_for_one_purchase_credit_it_once(ledger: LedgerHarness):
    tenant, purchase = uuid.uuid4(), uuid.uuid4()
    await asyncio.gather(
        ledger.publish(purchase_paid(tenant, "system", 200, purchase_id=purchase)),
        ledger.publish(purchase_paid(tenant, "system", 200, purchase_id=purchase)),
    )
    await _wait_for_balance(ledger, tenant, "system", 200)
    await asyncio.sleep(0.3)
    assert (await ledger.balances(tenant, "system"))["system"] == 200


async def test_balances_are_per_tenant(ledger: LedgerHarness):
    mine, theirs = uuid.uuid4(), uuid.uuid4()
    await ledger.publish(purchase_paid(mine, "system", 100))
    await _wait_for_balance(ledger, mine, "system", 100)
    assert (await ledger.balances(theirs, "system"))["system"] == 0


async def test_accounts_without_an_internal_token_are_refused(ledger: LedgerHarness):
    response = await ledger.client.get("/accounts", params={"code": "system"})
    assert response.status == 401
    assert response.content_type == "application/problem+json"


async def test_internal_accounts_cannot_be_read_over_http(ledger: LedgerHarness):
    response = await ledger.client.get("/accounts", params={"code": "world"}, headers=ledger.token(uuid.uuid4()))
    assert response.status == 400


async def test_database_refuses_an_unbalanced_transaction_whatever_the_code_does(ledger: LedgerHarness):
    conn = await connect(ledger.dsn)
    tenant = uuid.uuid4()
    try:
        await conn.execute(
            "INSERT INTO accounts (id, tenant_id, code, kind) VALUES ($1, $2, 'world', 'world')", uuid.uuid4(), tenant
        )
        account = await conn.fetchval("SELECT id FROM accounts WHERE tenant_id = $1", tenant)
        with pytest.raises(asyncpg.CheckViolationError, match="unbalanced"):
            async with conn.transaction():
                tx = await conn.fetchval(
                    """INSERT INTO transactions (id, tenant_id, kind, idempotency_key, request_hash)
                       VALUES ($1, $2, 'purchase', 'k', 'h') RETURNING id""", uuid.uuid4(), tenant,
                )
                await conn.execute(
                    "INSERT INTO postings (transaction_id, account_id, amount, balance_after) VALUES ($1, $2, 5, 5)",
                    tx, account,
                )
        assert await conn.fetchval("SELECT count(*) FROM transactions WHERE tenant_id = $1", tenant) == 0
    finally:
        await conn.close()


async def test_database_refuses_a_negative_user_facing_balance(ledger: LedgerHarness):
    conn = await connect(ledger.dsn)
    try:
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute(
                "INSERT INTO accounts (id, tenant_id, code, kind, balance) VALUES ($1, $2, 'system', 'system', -1)",
                uuid.uuid4(), uuid.uuid4(),
            )
    finally:
        await conn.close()
