"""Transfers, holds and a switch to shared mode, all at once: nothing deadlocks, nothing answers 500,
and the switch leaves no credit with a user whatever order things committed in."""

from __future__ import annotations

import asyncio
import random
import time
import uuid

from common.accounts import user_code
from services.ledger.invariants import usecases as invariants
from tests.integration.ledger.conftest import LedgerHarness


async def test_transfers_holds_and_a_switch_to_shared_at_once_keep_every_invariant(ledger: LedgerHarness):
    tenant = await ledger.add_tenant(threshold=20)
    master = await ledger.add_user(tenant, "master")
    users = [user_code((await ledger.add_user(tenant)).user_id) for _ in range(8)]
    codes = ["system", *users]
    for code in codes[:5]:  # the other four start empty: a switch that looked only at who had credits
        await ledger.fund(tenant, code, 100)  # when it started would miss what they receive meanwhile
    chooser = random.Random(7)  # a fixed mix, so a failure can be replayed
    service = ledger.token(None, "service")

    done: list[int] = []
    halfway = asyncio.Event()

    async def transfer() -> int:
        source, target = chooser.sample(codes, 2)
        status, _ = await ledger.transfer(ledger.as_user(master), source, target, chooser.randint(1, 40))
        done.append(status)
        if len(done) == 20:
            halfway.set()
        return status

    async def spend() -> int:
        status, hold = await ledger.place_hold(tenant, "system", chooser.randint(1, 15))
        if status != 201:
            return status
        action = chooser.choice(["capture", "void"])
        status, _ = await ledger.post(f"/holds/{hold['id']}/{action}", None, service)
        return status

    async def switch() -> int:
        await halfway.wait()  # in the thick of it: a third of the transfers answered
        await ledger.switch_mode(tenant, "shared", "individual", actor=uuid.uuid4())
        return 0

    started = time.monotonic()
    work = [transfer() for _ in range(60)] + [spend() for _ in range(30)] + [switch()]
    chooser.shuffle(work)
    statuses = await asyncio.wait_for(asyncio.gather(*work), timeout=30)
    elapsed = time.monotonic() - started
    print(f"\nmixed run: {len(work)} operations in {elapsed:.2f} s: {done.count(201)} transfers accepted, "
          f"{done.count(422)} refused; {statuses.count(200)} holds captured or voided")
    assert set(statuses) <= {0, 200, 201, 422}, statuses
    accounts = await ledger.accounts(tenant, *codes)
    assert {c: a["balance"] for c, a in accounts.items() if c != "system"} == dict.fromkeys(users, 0)
    spent = await ledger.pool.fetchval(
        "SELECT coalesce(sum(balance), 0) FROM accounts WHERE tenant_id = $1 AND code = 'spent'", tenant
    )
    assert accounts["system"]["balance"] + spent == 500 and accounts["system"]["held"] == 0
    async with ledger.pool.acquire() as conn:
        assert [r.name for r in await invariants.check(conn) if not r.held] == []
