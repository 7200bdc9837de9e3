"""Billing's periodic jobs with two replicas running them at once against one database, each with a pool and
a payment provider of its own: the sweeper charges each stalled top-up once (paid once, under one invoice
number, one `billing.purchase.paid`, one charge at the processor) and gives each stalled refund's money back
once (one refund at the processor, one `billing.refund.completed`, adjustment notes numbered without a
repeat or a gap); the start-up round announces each account's auto top-up once (one
`billing.topup.watch_changed` per account and version)."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from aiohttp import web

from common import accounts
from common.contracts import events
from common.db import create_pool
from common.runtime import DB
from fakes.payments.provider import TestPaymentProvider
from services.billing import sweeper
from services.billing.refunds import store as refunds_store
from services.billing.resources import PROVIDER, SETTINGS
from services.billing.topups import usecases as top_ups
from services.billing.topups import watches
from tests.integration.billing.harness import Billing, Buyer, invoice_number, note_number
from tests.integration.billing.ledger_support import credited_purchase, next_seq
from tests.integration.billing.test_billing_refunds import ask_refund
from tests.support import eventually

STALLED = 4


@dataclass
class Replicas:
    billing: Billing  # the service under test: its database, and its API to set things up
    apps: tuple[web.Application, web.Application]

    async def sweep_at_once(self) -> None:
        """Both sweeps read what is stalled before either drives any of it on: the processor's sessions are
        locked (plain reads pass) until both replicas wait on them, the first thing each does with a stalled
        top-up or refund."""
        async with self.billing.pool.acquire() as conn, conn.transaction():
            await conn.execute("LOCK TABLE test_provider_sessions IN EXCLUSIVE MODE")
            running = [asyncio.create_task(sweeper.sweep_once(app)) for app in self.apps]

            async def both_waiting() -> bool:
                waiting = await self.billing.pool.fetchval(
                    """SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
                       AND application_name LIKE 'replica-%' AND wait_event_type = 'Lock'""")
                return bool(waiting == len(self.apps))

            await eventually(both_waiting, timeout=5, every=0.01)
        await asyncio.gather(*running)

    async def events_of(self, event_type: str) -> list[dict[str, Any]]:
        rows = await self.billing.pool.fetch("SELECT envelope FROM outbox WHERE routing_key = $1",
                                             events.routing_key(event_type))
        return [r["envelope"]["data"] for r in rows]


@pytest.fixture
async def replicas(billing: Billing) -> AsyncIterator[Replicas]:
    apps = []
    try:
        for n in (1, 2):
            app = web.Application()
            app[DB] = await create_pool(f"{billing.settings.database_url}?application_name=replica-{n}", 4)
            app[SETTINGS] = billing.settings
            app[PROVIDER] = TestPaymentProvider(billing.settings)
            apps.append(app)
        yield Replicas(billing, (apps[0], apps[1]))
    finally:
        for app in apps:
            await app[DB].close()


async def _stalled_top_up(billing: Billing, buyer: Buyer) -> uuid.UUID:
    """A top-up recorded but never charged (its process died between the two), an hour ago."""
    await credited_purchase(billing, 500, buyer=buyer)  # the card it keeps is the one auto top-up charges
    account = accounts.account_id(buyer.tenant_id, "system")
    response = await billing.client.put(
        f"/accounts/{account}/auto-top-up", headers=billing.headers(buyer),
        json={"account_code": "system", "threshold": 100, "quantity": 1000, "daily_cap": 5000})
    assert response.status == 200, await response.text()
    # What a low balance records before the charge (`consider` then charges it): the charge never came.
    purchase_id = await top_ups._start(billing.pool, "test", account, 50, next_seq(), date.today())
    assert purchase_id is not None
    await billing.pool.execute("UPDATE top_ups SET created_at = now() - interval '1 hour' WHERE purchase_id = $1",
                               purchase_id)
    return purchase_id


async def test_two_sweepers_at_once_charge_each_stalled_top_up_once(replicas: Replicas) -> None:
    billing = replicas.billing
    buyers = [Buyer() for _ in range(STALLED)]
    stalled = {await _stalled_top_up(billing, buyer): buyer for buyer in buyers}

    await replicas.sweep_at_once()

    rows = await billing.pool.fetch(
        """SELECT p.id, p.status, p.invoice_number, count(c.id) AS charges FROM purchases p
           JOIN test_provider_sessions s ON s.purchase_id = p.id JOIN test_provider_charges c ON c.session_id = s.id
           WHERE p.id = ANY($1::uuid[]) GROUP BY p.id""", list(stalled))
    # Each buyer's second invoice (the first paid the purchase that kept the card): one number taken each.
    assert {r["id"]: (r["status"], r["invoice_number"], r["charges"]) for r in rows} == {
        purchase_id: ("paid", invoice_number(buyer, 2), 1) for purchase_id, buyer in stalled.items()}
    paid = Counter(p["purchase_id"] for p in await replicas.events_of(events.PURCHASE_PAID))
    assert {purchase: paid[str(purchase)] for purchase in stalled} == dict.fromkeys(stalled, 1)


async def test_two_sweepers_at_once_give_each_stalled_refunds_money_back_once(replicas: Replicas) -> None:
    billing = replicas.billing
    stalled: dict[uuid.UUID, int] = {}  # refund: its total in cents
    for _ in range(STALLED):
        purchase = await credited_purchase(billing, 100)
        status, refund = await ask_refund(billing, purchase, 100)
        assert status == 201, refund
        refund_id = uuid.UUID(refund["id"])
        # The ledger took the credits back an hour ago; the process giving the money back died.
        async with billing.pool.acquire() as conn, conn.transaction():
            await refunds_store.mark_debited(conn, refund_id, next_seq())
            await conn.execute("UPDATE refunds SET debited_at = now() - interval '1 hour' WHERE id = $1", refund_id)
        stalled[refund_id] = int(await billing.pool.fetchval("SELECT total_cents FROM refunds WHERE id = $1",
                                                             refund_id))

    await replicas.sweep_at_once()

    rows = await billing.pool.fetch("SELECT id, status, adjustment_note_number FROM refunds")
    assert {r["id"]: r["status"] for r in rows} == dict.fromkeys(stalled, "refunded")
    # One adjustment note each: numbered 1 to 4, none taken twice (a second completion would take another).
    assert sorted(r["adjustment_note_number"] for r in rows) == [
        note_number(billing.buyer, n) for n in range(1, STALLED + 1)]
    given_back = await billing.pool.fetch("SELECT idempotency_key, amount_cents FROM test_provider_refunds")
    assert {r["idempotency_key"]: r["amount_cents"] for r in given_back} == {
        f"refund:{refund_id}": cents for refund_id, cents in stalled.items()}
    completed = Counter(c["refund_id"] for c in await replicas.events_of(events.REFUND_COMPLETED))
    assert completed == {str(refund_id): 1 for refund_id in stalled}


async def test_two_replicas_starting_at_once_announce_each_accounts_auto_top_up_once(replicas: Replicas) -> None:
    billing = replicas.billing
    # Settings from before billing announced them, as the upgrade left them: one of them switched off.
    settings = {uuid.uuid4(): status for status in ("active", "suspended", "off", "active", "active", "active")}
    for account_id, status in settings.items():
        await billing.pool.execute(
            """INSERT INTO auto_top_ups (account_id, tenant_id, account_code, payer_user_id, threshold, quantity,
                                         daily_cap, status)
               VALUES ($1, $2, 'system', $3, 100, 1000, 5000, $4)""",
            account_id, uuid.uuid4(), uuid.uuid4(), status)

    # Batches of one: the two replicas take turns over the accounts rather than one taking them all at once.
    first, second = replicas.apps
    counts = await asyncio.gather(watches.announce_unannounced(first, batch=1),
                                  watches.announce_unannounced(second, batch=1))
    assert sum(counts) == len(settings)

    announced = await replicas.events_of(events.TOP_UP_WATCH_CHANGED)
    assert Counter((a["account_id"], a["version"]) for a in announced) == {
        (str(account_id), 1): 1 for account_id in settings}
    assert {uuid.UUID(a["account_id"]): a["watched"] for a in announced} == {
        account_id: status != "off" for account_id, status in settings.items()}
    rows = await billing.pool.fetch("SELECT account_id, watch_version, watch_announced FROM auto_top_ups")
    assert {r["account_id"]: (r["watch_version"], r["watch_announced"]) for r in rows} == dict.fromkeys(
        settings, (1, True))
