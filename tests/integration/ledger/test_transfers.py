from __future__ import annotations

import asyncio
import uuid

from common.accounts import user_code
from tests.integration.ledger.conftest import LedgerHarness


async def test_master_moves_system_credits_to_a_user_and_gets_both_balances(ledger: LedgerHarness):
    tenant = await ledger.add_tenant()
    master, ben = await ledger.add_user(tenant, "master"), await ledger.add_user(tenant, team="Sales")
    await ledger.fund(tenant, "system", 1000)
    status, body = await ledger.transfer(ledger.as_user(master), "system", user_code(ben.user_id), 200)
    assert status == 201, body
    assert body["from"]["balance"] == 800 and body["to"]["balance"] == 200
    assert body["consistency_token"] > 0


async def test_fifty_concurrent_transfers_draining_100_credits_by_3_leave_exactly_1(ledger: LedgerHarness):
    tenant = await ledger.add_tenant()
    master, ben = await ledger.add_user(tenant, "master"), await ledger.add_user(tenant)
    await ledger.fund(tenant, "system", 100)
    results = await asyncio.gather(
        *(ledger.transfer(ledger.as_user(master), "system", user_code(ben.user_id), 3) for _ in range(50))
    )
    statuses = [status for status, _ in results]
    print(f"\n50 concurrent transfers of 3 from 100: {statuses.count(201)} accepted, {statuses.count(422)} refused")
    assert statuses.count(201) == 33 and statuses.count(422) == 17
    balances = await ledger.balances(tenant, "system", user_code(ben.user_id))
    assert balances == {"system": 1, user_code(ben.user_id): 99}


async def test_twenty_concurrent_requests_with_one_key_make_one_transfer(ledger: LedgerHarness):
    tenant = await ledger.add_tenant()
    master, ben = await ledger.add_user(tenant, "master"), await ledger.add_user(tenant)
    await ledger.fund(tenant, "system", 100)
    key = str(uuid.uuid4())
    results = await asyncio.gather(
        *(ledger.transfer(ledger.as_user(master), "system", user_code(ben.user_id), 10, key=key) for _ in range(20))
    )
    assert {status for status, _ in results} == {201}
    assert len({body["id"] for _, body in results}) == 1
    assert (await ledger.balances(tenant, "system"))["system"] == 90


async def test_opposite_transfers_in_parallel_never_deadlock(ledger: LedgerHarness):
    tenant = await ledger.add_tenant()
    master = await ledger.add_user(tenant, "master")
    a, b = await ledger.add_user(tenant), await ledger.add_user(tenant)
    code_a, code_b = user_code(a.user_id), user_code(b.user_id)
    await ledger.fund(tenant, code_a, 500)
    await ledger.fund(tenant, code_b, 500)
    transfers = [ledger.transfer(ledger.as_user(master), code_a, code_b, 1) for _ in range(40)]
    transfers += [ledger.transfer(ledger.as_user(master), code_b, code_a, 1) for _ in range(40)]
    results = await asyncio.wait_for(asyncio.gather(*transfers), timeout=30)
    assert {status for status, _ in results} == {201}
    assert await ledger.balances(tenant, code_a, code_b) == {code_a: 500, code_b: 500}
