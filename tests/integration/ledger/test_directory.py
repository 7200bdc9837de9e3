"""What the ledger does when the gateway's directory changes: users who may no longer receive credits
give them back to System Credits, and a switch to shared mode sweeps every user's credits, each once."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from common.accounts import account_id, user_code
from common.contracts.events import TenantChanged, UserChanged
from services.ledger.directory import usecases as directory
from tests.integration.ledger.conftest import LedgerHarness
from tests.support import eventually


def _changed(user: UserChanged, version: int, actor: uuid.UUID | None, **facts: bool) -> UserChanged:
    return user.model_copy(update={"version": version, "actor_user_id": actor, **facts})


async def _sweeps(ledger: LedgerHarness, tenant: uuid.UUID, kind: str) -> list[dict[str, object]]:
    return [e["data"] for e in await ledger.outbox("ledger.transaction.posted", tenant) if e["data"]["kind"] == kind]


async def test_a_user_who_may_no_longer_send_returns_their_credits_as_a_transfer_by_who_changed_them(
    ledger: LedgerHarness,
):
    tenant = await ledger.add_tenant()
    master, ben = await ledger.add_user(tenant, "master"), await ledger.add_user(tenant)
    ben_code = user_code(ben.user_id)
    await ledger.fund(tenant, ben_code, 120)
    await ledger.place_hold(tenant, ben_code, 20)  # reserved credits stay until the hold is resolved
    await directory.user_changed(ledger.pool, uuid.uuid4(),
                                 _changed(ben, 100, master.user_id, send_sms=False))
    accounts = await ledger.accounts(tenant, "system", ben_code)
    assert accounts["system"]["balance"] == 100
    assert (accounts[ben_code]["balance"], accounts[ben_code]["available"]) == (20, 0)
    row = await ledger.pool.fetchrow(
        "SELECT id, kind, actor_user_id FROM transactions WHERE tenant_id = $1 AND kind = 'transfer'", tenant
    )
    assert row["actor_user_id"] == master.user_id
    [event] = await _sweeps(ledger, tenant, "transfer")
    assert event["transaction_id"] == str(row["id"]) and event["actor_user_id"] == str(master.user_id)
    assert sorted((p["account_code"], p["amount"]) for p in event["postings"]) == sorted(  # type: ignore[attr-defined]
        [(ben_code, -100), ("system", 100)]
    )


async def test_a_deactivated_user_returns_their_credits_too(ledger: LedgerHarness):
    tenant = await ledger.add_tenant()
    master, ben = await ledger.add_user(tenant, "master"), await ledger.add_user(tenant)
    await ledger.fund(tenant, user_code(ben.user_id), 40)
    await directory.user_changed(ledger.pool, uuid.uuid4(), _changed(ben, 100, master.user_id, active=False))
    assert await ledger.balances(tenant, "system", user_code(ben.user_id)) == {"system": 40,
                                                                               user_code(ben.user_id): 0}


async def test_the_same_user_change_delivered_twice_sweeps_once(ledger: LedgerHarness):
    tenant = await ledger.add_tenant()
    master, ben = await ledger.add_user(tenant, "master"), await ledger.add_user(tenant)
    ben_code = user_code(ben.user_id)
    await ledger.fund(tenant, ben_code, 100)
    event_id, change = uuid.uuid4(), _changed(ben, 100, master.user_id, send_sms=False)
    await directory.user_changed(ledger.pool, event_id, change)
    await ledger.fund(tenant, ben_code, 30)  # a purchase paid after the change: a second sweep would take it
    await directory.user_changed(ledger.pool, event_id, change)
    await directory.user_changed(ledger.pool, uuid.uuid4(), change)  # a re-announcement of the same version
    assert await ledger.balances(tenant, "system", ben_code) == {"system": 100, ben_code: 30}
    assert len(await _sweeps(ledger, tenant, "transfer")) == 1


async def test_an_older_user_change_arriving_after_a_newer_one_changes_nothing(ledger: LedgerHarness):
    tenant = await ledger.add_tenant()
    master, ben = await ledger.add_user(tenant, "master"), await ledger.add_user(tenant)
    ben_code = user_code(ben.user_id)
    await ledger.fund(tenant, ben_code, 100)
    await directory.user_changed(ledger.pool, uuid.uuid4(), _changed(ben, 100, master.user_id, send_sms=True))
    await directory.user_changed(ledger.pool, uuid.uuid4(), _changed(ben, 99, master.user_id, send_sms=False))
    assert await ledger.balances(tenant, "system", ben_code) == {"system": 0, ben_code: 100}
    status, _ = await ledger.transfer(ledger.as_user(master), "system", ben_code, 1)
    assert status == 422  # nothing in system, but Ben may still receive: refused for credits, not for him
    await ledger.fund(tenant, "system", 5)
    status, body = await ledger.transfer(ledger.as_user(master), "system", ben_code, 1)
    assert status == 201, body


async def test_switching_to_shared_mode_sweeps_every_users_credits_once_even_if_delivered_twice(
    ledger: LedgerHarness,
):
    tenant = await ledger.add_tenant()
    operator = uuid.uuid4()
    ann, ben = await ledger.add_user(tenant), await ledger.add_user(tenant)
    ann_code, ben_code = user_code(ann.user_id), user_code(ben.user_id)
    await ledger.fund(tenant, "system", 10)
    await ledger.fund(tenant, ann_code, 100)
    await ledger.fund(tenant, ben_code, 50)
    await ledger.place_hold(tenant, ben_code, 20)
    event_id = uuid.uuid4()
    change = await ledger.switch_mode(tenant, "shared", "individual", actor=operator, event_id=event_id)
    accounts = await ledger.accounts(tenant, "system", ann_code, ben_code)
    assert {c: (a["balance"], a["held"]) for c, a in accounts.items()} == {
        "system": (140, 0), ann_code: (0, 0), ben_code: (20, 20)
    }
    await ledger.fund(tenant, ann_code, 7)  # arrives between the two deliveries
    await directory.credit_mode_changed(ledger.pool, event_id, change)
    assert await ledger.balances(tenant, "system", ann_code) == {"system": 140, ann_code: 7}
    [sweep] = await _sweeps(ledger, tenant, "mode_change")
    assert sweep["actor_user_id"] == str(operator)


async def test_a_switch_announced_as_the_gateway_does_it_sweeps(ledger: LedgerHarness):
    """The gateway writes the tenant's new facts and then the mode change, both at the new version."""
    tenant = await ledger.add_tenant()
    ann = await ledger.add_user(tenant)
    await ledger.fund(tenant, user_code(ann.user_id), 100)
    version = next(ledger.versions)
    facts = TenantChanged(tenant_id=tenant, name="T", credit_mode="shared", timezone="UTC",
                          low_balance_threshold=0, version=version)
    await directory.tenant_changed(ledger.pool, uuid.uuid4(), facts)
    await ledger.switch_mode(tenant, "shared", "individual", version=version)
    assert await ledger.balances(tenant, "system", user_code(ann.user_id)) == {
        "system": 100, user_code(ann.user_id): 0
    }


async def test_a_switch_overtaken_by_a_later_change_of_other_facts_still_sweeps(ledger: LedgerHarness):
    """The switch's own event is late (retried, or taken by a slower replica) and a later change of the
    tenant's other facts, which carries the shared mode too, was applied first: no switch swept yet."""
    tenant = await ledger.add_tenant()
    ann = await ledger.add_user(tenant)
    await ledger.fund(tenant, user_code(ann.user_id), 100)
    switch, later = next(ledger.versions), next(ledger.versions)
    for version in (switch, later):  # the switch's facts, then a new threshold: both say shared
        facts = TenantChanged(tenant_id=tenant, name="T", credit_mode="shared", timezone="UTC",
                              low_balance_threshold=version, version=version)
        await directory.tenant_changed(ledger.pool, uuid.uuid4(), facts)
    await ledger.switch_mode(tenant, "shared", "individual", version=switch)  # late
    assert await ledger.balances(tenant, "system", user_code(ann.user_id)) == {
        "system": 100, user_code(ann.user_id): 0
    }
    assert len(await _sweeps(ledger, tenant, "mode_change")) == 1


async def test_an_older_switch_to_shared_arriving_after_a_newer_switch_back_changes_nothing(
    ledger: LedgerHarness,
):
    tenant = await ledger.add_tenant()
    master, ann = await ledger.add_user(tenant, "master"), await ledger.add_user(tenant)
    ann_code = user_code(ann.user_id)
    to_shared, back = next(ledger.versions), next(ledger.versions)
    await ledger.switch_mode(tenant, "individual", "shared", version=back)  # the newer one, delivered first
    await ledger.fund(tenant, ann_code, 100)
    await ledger.switch_mode(tenant, "shared", "individual", version=to_shared)  # late
    assert await ledger.balances(tenant, "system", ann_code) == {"system": 0, ann_code: 100}
    assert await _sweeps(ledger, tenant, "mode_change") == []
    status, body = await ledger.transfer(ledger.as_user(ann), ann_code, "system", 1)
    assert status == 403, body  # still individual mode: refused by the table, not for the mode
    status, body = await ledger.transfer(ledger.as_user(master), ann_code, "system", 1)
    assert status == 201, body


async def _waiting_for_locks(ledger: LedgerHarness, count: int) -> None:
    async def waiting() -> bool:
        found = await ledger.pool.fetchval(
            """SELECT count(*) FROM pg_stat_activity
               WHERE datname = current_database() AND wait_event_type = 'Lock'"""
        )
        return bool(found == count)

    await eventually(waiting, timeout=5, every=0.01)


@pytest.mark.parametrize("source", ["system", "ann"])
async def test_a_transfer_racing_a_switch_to_shared_is_either_refused_or_swept(ledger: LedgerHarness, source: str):
    """The transfer reads the mode (still individual) just before the switch commits, into an account
    the switch did not know held credits. Whatever the order, no user keeps credits in shared mode."""
    tenant = await ledger.add_tenant()
    master, ann, ben = (await ledger.add_user(tenant, "master"), await ledger.add_user(tenant),
                        await ledger.add_user(tenant))
    ann_code, ben_code = user_code(ann.user_id), user_code(ben.user_id)
    await ledger.fund(tenant, "system", 100)
    await ledger.fund(tenant, ann_code, 100)
    source_code = "system" if source == "system" else ann_code
    # Hold the source's row so that the transfer, then the switch, queue behind it in that order.
    async with ledger.pool.acquire() as blocker:
        block = blocker.transaction()
        await block.start()
        await blocker.execute("SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE", account_id(tenant, source_code))
        transfer = asyncio.create_task(ledger.transfer(ledger.as_user(master), source_code, ben_code, 10))
        await _waiting_for_locks(ledger, 1)
        switch = asyncio.create_task(ledger.switch_mode(tenant, "shared", "individual"))
        await _waiting_for_locks(ledger, 2)
        await block.commit()
    status, _ = await transfer
    await switch
    balances = await ledger.balances(tenant, "system", ann_code, ben_code)
    assert balances == {"system": 200, ann_code: 0, ben_code: 0}, (status, balances)


async def test_an_older_switch_to_shared_arriving_late_changes_nothing_even_in_shared_mode(ledger: LedgerHarness):
    tenant = await ledger.add_tenant()
    ann = await ledger.add_user(tenant)
    ann_code = user_code(ann.user_id)
    await ledger.fund(tenant, ann_code, 100)
    _, hold = await ledger.place_hold(tenant, ann_code, 30)
    older, newer = next(ledger.versions), next(ledger.versions)
    await ledger.switch_mode(tenant, "shared", "individual", version=newer)  # sweeps the 70 available
    await ledger.post(f"/holds/{hold['id']}/void", None, ledger.token(None, "service"))  # 30 come back
    await ledger.switch_mode(tenant, "shared", "individual", version=older)  # late: must change nothing
    assert await ledger.balances(tenant, "system", ann_code) == {"system": 70, ann_code: 30}
    assert len(await _sweeps(ledger, tenant, "mode_change")) == 1
