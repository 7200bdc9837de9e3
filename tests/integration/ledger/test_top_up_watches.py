"""The ledger marks the transactions billing needs (purchases, and what touches an account billing tops
up automatically) with AMQP headers, from what billing announced (`billing.topup.watch_changed`); the
relay publishes them and RabbitMQ routes by them, so billing never receives a transfer between others."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from common.accounts import account_id, user_code
from common.contracts import events
from common.contracts.events import Event, TopUpWatchChanged
from common.contracts.headers import KIND, TOP_UP_WATCHED, YES
from tests.integration.ledger.conftest import LedgerHarness
from tests.support import eventually


def _watch(tenant: uuid.UUID, code: str, watched: bool, version: int) -> Event:
    change = TopUpWatchChanged(tenant_id=tenant, account_id=account_id(tenant, code), account_code=code,
                               watched=watched, version=version)
    return Event.new(type=events.TOP_UP_WATCH_CHANGED, source="billing", subject=str(tenant), data=change)


async def _headers_by_kind(ledger: LedgerHarness, tenant: uuid.UUID) -> list[tuple[str, dict[str, Any] | None]]:
    rows = await ledger.pool.fetch(
        """SELECT envelope -> 'data' ->> 'kind' AS kind, headers FROM outbox
           WHERE routing_key = 'ledger.transaction.posted' AND envelope -> 'data' ->> 'tenant_id' = $1 ORDER BY id""",
        str(tenant),
    )
    return [(r["kind"], r["headers"]) for r in rows]


async def _watched(ledger: LedgerHarness, account: uuid.UUID) -> bool | None:
    watched: bool | None = await ledger.pool.fetchval("SELECT watched FROM top_up_watches WHERE account_id = $1",
                                                      account)
    return watched


async def test_transactions_touching_a_watched_account_are_marked_and_others_carry_only_their_kind(
    ledger: LedgerHarness,
):
    tenant = await ledger.add_tenant()
    master, ben, cy = (await ledger.add_user(tenant, "master"), await ledger.add_user(tenant),
                       await ledger.add_user(tenant))
    ben_code, cy_code = user_code(ben.user_id), user_code(cy.user_id)
    await ledger.fund(tenant, "system", 100)
    # Billing switches Ben's auto top-up on, over the broker as in production.
    await ledger.publish(_watch(tenant, ben_code, True, 1))
    await eventually(lambda: _is(ledger, account_id(tenant, ben_code), True))

    assert (await ledger.transfer(ledger.as_user(master), "system", cy_code, 5))[0] == 201
    assert (await ledger.transfer(ledger.as_user(master), "system", ben_code, 5))[0] == 201
    await ledger.place_hold(tenant, ben_code, 2)  # a hold changes only reserved credits: still his
    marked = await _headers_by_kind(ledger, tenant)
    assert marked == [
        ("purchase", {KIND: "purchase"}),
        ("transfer", {KIND: "transfer"}),
        ("transfer", {KIND: "transfer", TOP_UP_WATCHED: YES}),
        ("hold", {KIND: "hold", TOP_UP_WATCHED: YES}),
    ]


async def test_the_newest_announcement_wins_whatever_order_they_arrive_in(ledger: LedgerHarness):
    tenant = await ledger.add_tenant()
    account = account_id(tenant, "system")
    await ledger.publish(_watch(tenant, "system", True, 2))
    await eventually(lambda: _is(ledger, account, True))
    await ledger.publish(_watch(tenant, "system", False, 1))  # older: late, ignored
    await ledger.publish(_watch(tenant, "system", True, 2))  # the same again: changes nothing
    await ledger.publish(_watch(tenant, "system", False, 3))
    await eventually(lambda: _is(ledger, account, False))
    await asyncio.sleep(0.2)
    assert await ledger.pool.fetchval("SELECT version FROM top_up_watches WHERE account_id = $1", account) == 3
    await ledger.fund(tenant, "system", 10)
    await ledger.place_hold(tenant, "system", 2)
    assert (await _headers_by_kind(ledger, tenant))[-1] == ("hold", {KIND: "hold"})


async def _is(ledger: LedgerHarness, account: uuid.UUID, watched: bool) -> bool:
    return await _watched(ledger, account) is watched
