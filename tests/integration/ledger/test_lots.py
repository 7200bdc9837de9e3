"""Credits by lot against the real ledger and Postgres: purchases start lots with their expiry, the
sweeper expires each lapsed lot once (with two sweepers at once too), transfers carry expiry with the
credits, holds keep what they reserved across a lapse, grants are promotional and spent first, a refund
takes back only its own purchase's credits, and balances held before lots become one lot per account."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from common.accounts import account_id
from common.contracts import events
from common.contracts.events import RefundRequested
from common.db import migrate
from services.ledger.app import MIGRATIONS
from services.ledger.invariants import usecases as invariants
from services.ledger.lots import usecases as lots
from services.ledger.lots.clock import CLOCK
from services.ledger.refunds import usecases as refunds
from tests.conftest import Infra
from tests.integration.ledger.conftest import LedgerHarness, ledger_database_before


@pytest.fixture
def clock() -> Iterator[Any]:
    """The lapse clock, moved forward by a test and put back after it."""
    yield CLOCK
    CLOCK.offset = timedelta(0)


async def lots_of(ledger: LedgerHarness, tenant: uuid.UUID, code: str) -> list[dict[str, Any]]:
    response = await ledger.client.get("/accounts/lots", params={"code": code}, headers=ledger.token(tenant))
    assert response.status == 200, await response.text()
    return list(await response.json())


async def posted(ledger: LedgerHarness, tenant: uuid.UUID, kind: str) -> list[dict[str, Any]]:
    return [e["data"] for e in await ledger.outbox(events.TRANSACTION_POSTED, tenant) if e["data"]["kind"] == kind]


async def assert_invariants(ledger: LedgerHarness) -> None:
    async with ledger.pool.acquire() as conn:
        broken = [r for r in await invariants.check(conn) if not r.held]
    assert broken == []


async def test_a_purchase_starts_a_paid_lot_with_its_expiry_and_the_balance_tells_what_expires_soon(
    ledger: LedgerHarness,
) -> None:
    tenant = await ledger.add_tenant()
    soon, later = datetime.now(UTC) + timedelta(days=10), datetime.now(UTC) + timedelta(days=365)
    first = await ledger.fund(tenant, "system", 100, expires_at=later)
    second = await ledger.fund(tenant, "system", 40, expires_at=soon)
    await ledger.fund(tenant, "system", 5)  # a publisher that names no expiry: never

    held = await lots_of(ledger, tenant, "system")
    assert [(lot["reference"], lot["remaining"], lot["paid"], lot["origin"]) for lot in held] == [
        (f"purchase:{second}", 40, True, "purchase"), (f"purchase:{first}", 100, True, "purchase"),
        (held[2]["reference"], 5, True, "purchase")]  # in spending order: soonest to expire first
    assert held[2]["expires_at"] is None
    account = (await ledger.accounts(tenant, "system"))["system"]
    assert (account["balance"], account["expiring_within_30_days"]) == (145, 40)
    [purchase] = [p for p in await posted(ledger, tenant, "purchase") if p["reference"] == f"purchase:{first}"]
    assert [(lot["amount"], lot["paid"], lot["origin"]) for lot in purchase["lots"]] == [(100, True, "purchase")]
    await assert_invariants(ledger)


async def test_a_lapsed_lot_expires_once_even_with_two_sweepers_at_once(ledger: LedgerHarness, clock: Any) -> None:
    tenant = await ledger.add_tenant()
    lapsing = await ledger.fund(tenant, "system", 70, expires_at=datetime.now(UTC) + timedelta(days=30))
    await ledger.fund(tenant, "system", 30)
    clock.offset = timedelta(days=31)
    # Before the sweeper comes, the lapsed credits are counted but cannot be spent.
    assert (await ledger.place_hold(tenant, "system", 31))[0] == 422
    counts = await asyncio.gather(lots.expire_lapsed(ledger.pool), lots.expire_lapsed(ledger.pool))
    assert sorted(counts) == [0, 1]
    assert await lots.expire_lapsed(ledger.pool) == 0

    assert (await ledger.accounts(tenant, "system"))["system"]["balance"] == 30
    [expiry] = await posted(ledger, tenant, "lot_expiry")
    assert sorted((p["account_code"], p["amount"]) for p in expiry["postings"]) == [("expired", 70), ("system", -70)]
    [lot_line] = expiry["lots"]
    assert (lot_line["amount"], lot_line["origin"]) == (-70, "purchase")
    assert [lot["reference"] for lot in await lots_of(ledger, tenant, "system")] != [f"purchase:{lapsing}"]
    await assert_invariants(ledger)


async def test_a_transfer_carries_the_lots_expiry_and_spends_the_soonest_first(ledger: LedgerHarness) -> None:
    tenant = await ledger.add_tenant()
    ben = f"user:{(await ledger.add_user(tenant)).user_id}"
    master = await ledger.add_user(tenant, role="master")
    soon = datetime.now(UTC) + timedelta(days=5)
    await ledger.fund(tenant, "system", 50)
    await ledger.fund(tenant, "system", 20, expires_at=soon)

    status, answer = await ledger.transfer(ledger.as_user(master), "system", ben, 30)
    assert status == 201, answer

    system_lots = [(lot["expires_at"], lot["remaining"]) for lot in await lots_of(ledger, tenant, "system")]
    assert system_lots == [(None, 40)]
    bens = [(lot["expires_at"] is not None, lot["remaining"]) for lot in await lots_of(ledger, tenant, ben)]
    assert bens == [(True, 20), (False, 10)]  # the 20 lapsing soon went first, and lapse as soon with Ben
    await assert_invariants(ledger)


async def test_a_hold_keeps_what_it_reserved_across_a_lapse_and_a_release_lets_it_expire(
    ledger: LedgerHarness, clock: Any,
) -> None:
    tenant = await ledger.add_tenant()
    await ledger.fund(tenant, "system", 10, expires_at=datetime.now(UTC) + timedelta(days=2))
    await ledger.fund(tenant, "system", 100)
    status, hold = await ledger.place_hold(tenant, "system", 15)
    assert status == 201, hold

    clock.offset = timedelta(days=3)
    assert await lots.expire_lapsed(ledger.pool) == 0  # all 10 of the lapsed lot are reserved
    void = await ledger.client.post(f"/holds/{hold['id']}/void", headers=ledger.token(None, "service"))
    assert void.status == 200, await void.text()
    assert await lots.expire_lapsed(ledger.pool) == 1  # released, and lapsed: now they expire
    assert (await ledger.accounts(tenant, "system"))["system"]["balance"] == 100
    await assert_invariants(ledger)


async def test_a_capture_spends_the_lapsed_reserved_credits_first(ledger: LedgerHarness, clock: Any) -> None:
    tenant = await ledger.add_tenant()
    await ledger.fund(tenant, "system", 10, expires_at=datetime.now(UTC) + timedelta(days=2))
    await ledger.fund(tenant, "system", 100)
    _, hold = await ledger.place_hold(tenant, "system", 12)
    clock.offset = timedelta(days=3)
    capture = await ledger.client.post(f"/holds/{hold['id']}/capture", json={"quantity": 12},
                                       headers=ledger.token(None, "service"))
    assert capture.status == 200, await capture.text()
    assert await lots.expire_lapsed(ledger.pool) == 0
    assert [(lot["remaining"], lot["reserved"]) for lot in await lots_of(ledger, tenant, "system")] == [(98, 0)]
    await assert_invariants(ledger)


async def test_an_operators_grant_is_promotional_spent_first_and_replayed_by_its_key(ledger: LedgerHarness) -> None:
    tenant = await ledger.add_tenant()
    await ledger.fund(tenant, "system", 100)
    expires = (datetime.now(UTC) + timedelta(days=60)).isoformat()
    body = {"account_code": "system", "quantity": 25, "expires_at": expires, "reason": "Welcome offer"}
    operator = ledger.token(None, "operator")

    status, grant = await ledger.post(f"/tenants/{tenant}/grants", body, operator, key="welcome")
    assert status == 201, grant
    again_status, again = await ledger.post(f"/tenants/{tenant}/grants", body, operator, key="welcome")
    assert (again_status, again["id"], again["transaction_id"]) == (201, grant["id"], grant["transaction_id"])
    assert grant["balance_after"] == 125
    assert (await ledger.accounts(tenant, "system"))["system"]["balance"] == 125

    first = (await lots_of(ledger, tenant, "system"))[0]
    assert (first["origin"], first["paid"], first["reference"], first["remaining"]) == (
        "grant", False, f"grant:{grant['id']}", 25)
    [posting] = await posted(ledger, tenant, "grant")
    assert posting["note"] == "Welcome offer"
    moved = sorted((p["account_code"], p["amount"]) for p in posting["postings"])
    assert moved == [("promotions", -25), ("system", 25)]

    _, hold = await ledger.place_hold(tenant, "system", 30)
    await ledger.client.post(f"/holds/{hold['id']}/capture", headers=ledger.token(None, "service"))
    assert [(lot["paid"], lot["remaining"]) for lot in await lots_of(ledger, tenant, "system")] == [(True, 95)]
    await assert_invariants(ledger)


@pytest.mark.parametrize(("role", "expires_at", "status", "problem"), [
    ("master", None, 403, "forbidden"),
    ("operator", "2020-01-01T00:00:00+00:00", 422, "grant-invalid"),
    ("operator", "2030-01-01T00:00:00", 422, "grant-invalid"),
])
async def test_a_grant_by_a_non_operator_or_lapsing_in_the_past_is_refused_and_moves_nothing(
    ledger: LedgerHarness, role: str, expires_at: str | None, status: int, problem: str,
) -> None:
    tenant = await ledger.add_tenant()
    body = {"account_code": "system", "quantity": 5, "expires_at": expires_at, "reason": "Try"}
    answer_status, answer = await ledger.post(f"/tenants/{tenant}/grants", body, ledger.token(tenant, role))
    assert (answer_status, answer["type"].rsplit("/", 1)[1]) == (status, problem)
    assert (await ledger.accounts(tenant, "system"))["system"]["balance"] == 0


async def test_a_refund_takes_back_only_its_own_purchases_unspent_credits(ledger: LedgerHarness) -> None:
    tenant = await ledger.add_tenant()
    first = await ledger.fund(tenant, "system", 50)
    await ledger.fund(tenant, "system", 500)
    _, hold = await ledger.place_hold(tenant, "system", 30)  # promotional none: spends the oldest, `first`
    await ledger.client.post(f"/holds/{hold['id']}/capture", headers=ledger.token(None, "service"))

    def asked(quantity: int) -> RefundRequested:
        return RefundRequested(refund_id=uuid.uuid4(), purchase_id=first, tenant_id=tenant,
                               account_id=account_id(tenant, "system"), account_code="system", quantity=quantity,
                               requested_by=uuid.uuid4(), invoice_number="INV-T-000001")

    assert not await refunds.debit_refund(ledger.pool, uuid.uuid4(), asked(21))  # 20 of it are left
    [rejected] = await ledger.outbox(events.REFUND_REJECTED, tenant)
    assert rejected["data"]["available"] == 20
    assert await refunds.debit_refund(ledger.pool, uuid.uuid4(), asked(20))
    assert (await ledger.accounts(tenant, "system"))["system"]["balance"] == 500
    assert [lot["remaining"] for lot in await lots_of(ledger, tenant, "system")] == [500]  # the other purchase
    await assert_invariants(ledger)


async def test_balances_held_before_lots_become_one_paid_lot_per_account_that_open_holds_reserve(
    infra: Infra, tmp_path: Path,
) -> None:
    async with ledger_database_before(infra, tmp_path, "0008_lots.sql") as dsn:
        await _upgrade_a_ledger_with_balances_and_an_open_hold(dsn)


async def _upgrade_a_ledger_with_balances_and_an_open_hold(dsn: str) -> None:
    tenant = uuid.uuid4()
    system, user, world = (account_id(tenant, c) for c in ("system", "user:" + str(uuid.uuid4()), "world"))
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            """INSERT INTO accounts (id, tenant_id, code, kind, balance, held) VALUES
               ($1, $4, 'system', 'system', 300, 40), ($2, $4, 'user:x', 'user', 0, 0),
               ($3, $4, 'world', 'world', -300, 0)""",
            system, user, world, tenant)
        hold, tx = uuid.uuid4(), uuid.uuid4()
        await conn.execute(
            """INSERT INTO holds (id, tenant_id, account_id, quantity, status, expires_at, idempotency_key,
                                  request_hash)
               VALUES ($1, $2, $3, 40, 'open', now() + interval '1 hour', 'k', 'h')""", hold, tenant, system)
        await conn.execute(
            """INSERT INTO transactions (id, tenant_id, kind, idempotency_key, request_hash, hold_id)
               VALUES ($1, $2, 'hold', 'hold:k', 'h', $3)""", tx, tenant, hold)
        await migrate(dsn, MIGRATIONS)
        rows = await conn.fetch(
            """SELECT h.account_id, h.remaining, h.reserved, l.origin, l.paid, l.expires_at
               FROM lot_holdings h JOIN lots l ON l.id = h.lot_id""")
        assert [(r["account_id"], r["remaining"], r["reserved"], r["origin"], r["paid"], r["expires_at"])
                for r in rows] == [(system, 300, 40, "opening", True, None)]
        pins = await conn.fetch("SELECT account_id, amount, reserved FROM lot_movements WHERE transaction_id = $1", tx)
        assert [(p["account_id"], p["amount"], p["reserved"]) for p in pins] == [(system, 0, 40)]
    finally:
        await conn.close()
