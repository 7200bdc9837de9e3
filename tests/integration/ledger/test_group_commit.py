"""Group commit: transfers arriving together are posted in one database transaction, each still
checked and applied on its own (a refused one does not fail its neighbours), and a group that fails as
a whole is retried transfer by transfer, each exactly once."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from common.accounts import account_id, user_code
from services.ledger.invariants import usecases as invariants
from services.ledger.postings import group_commit, store
from tests.integration.ledger.conftest import LedgerHarness


def _grouped() -> tuple[float, float]:
    """(transfers posted, groups written) so far, from the group-size histogram."""
    samples = {s.name: s.value for metric in group_commit.GROUP_SIZE.collect() for s in metric.samples}
    return samples["ledger_group_commit_size_sum"], samples["ledger_group_commit_size_count"]


async def _invariants_hold(ledger: LedgerHarness) -> None:
    async with ledger.pool.acquire() as conn:
        breached = [r.name for r in await invariants.check(conn) if not r.held]
    assert breached == []


async def test_a_refused_transfer_in_a_group_fails_alone_and_its_neighbours_go_ahead(ledger: LedgerHarness):
    tenant = await ledger.add_tenant()
    master = await ledger.add_user(tenant, "master")
    ben, cleo = await ledger.add_user(tenant), await ledger.add_user(tenant)
    gone = await ledger.add_user(tenant, active=False)
    ben_code, cleo_code, gone_code = user_code(ben.user_id), user_code(cleo.user_id), user_code(gone.user_id)
    await ledger.fund(tenant, "system", 100)
    await ledger.fund(tenant, ben_code, 10)
    await ledger.fund(tenant, gone_code, 10)  # opened, so it is not sent to the single path for that
    before = _grouped()
    as_master = ledger.as_user(master)
    # Interleaved: valid transfers, one to an inactive user (422), ones beyond Ben's credits (422).
    work = []
    for n in range(30):
        if n % 10 == 5:
            work.append(ledger.transfer(as_master, "system", gone_code, 1))
        elif n % 3 == 0:
            work.append(ledger.transfer(as_master, ben_code, cleo_code, 4))
        else:
            work.append(ledger.transfer(as_master, "system", cleo_code, 2))
    results = await asyncio.gather(*work)
    after = _grouped()
    assert after[0] - before[0] > after[1] - before[1], "no group held more than one transfer"

    statuses = [status for status, _ in results]
    to_gone = [results[n][0] for n in range(30) if n % 10 == 5]
    from_ben = [results[n][0] for n in range(30) if n % 10 != 5 and n % 3 == 0]
    from_system = [results[n][0] for n in range(30) if n % 10 != 5 and n % 3 != 0]
    assert set(to_gone) == {422}
    assert set(from_system) == {201}
    assert from_ben.count(201) == 2 and from_ben.count(422) == len(from_ben) - 2  # 10 credits, 4 at a time
    assert statuses.count(201) == len(from_system) + 2

    balances = await ledger.balances(tenant, "system", ben_code, cleo_code, gone_code)
    assert balances == {"system": 100 - 2 * len(from_system), ben_code: 2,
                        cleo_code: 2 * len(from_system) + 8, gone_code: 10}
    await _invariants_hold(ledger)


async def test_within_and_across_groups_each_accounts_history_keeps_the_order_of_its_balances(ledger: LedgerHarness):
    tenant = await ledger.add_tenant()
    master, ben = await ledger.add_user(tenant, "master"), await ledger.add_user(tenant)
    await ledger.fund(tenant, "system", 1000)
    await ledger.fund(tenant, user_code(ben.user_id), 1)  # opened: an account's first transfer goes alone
    before = _grouped()
    await asyncio.gather(*(ledger.transfer(ledger.as_user(master), "system", user_code(ben.user_id), 1)
                           for _ in range(60)))
    after = _grouped()
    assert after[0] - before[0] > after[1] - before[1], "no group held more than one transfer"
    rows = await ledger.pool.fetch(
        """SELECT p.amount, p.balance_after, t.created_at, t.seq FROM postings p
           JOIN transactions t ON t.id = p.transaction_id
           WHERE p.account_id = $1 ORDER BY t.created_at, t.seq""",
        account_id(tenant, "system"),
    )
    assert len(rows) == 61  # the purchase and sixty transfers
    times = [r["created_at"] for r in rows]
    assert times == sorted(times) and len(set(times)) == len(times), "two postings of one account at one moment"
    for earlier, later in itertools.pairwise(rows):
        assert later["balance_after"] == earlier["balance_after"] + later["amount"]
        assert later["seq"] > earlier["seq"]
    # The journal holds each transaction as announced, under its own sequence number.
    journal = await ledger.pool.fetch("SELECT seq, payload FROM journal WHERE tenant_id = $1", tenant)
    assert all(j["payload"]["seq"] == j["seq"] for j in journal)
    assert len(journal) == 62


async def test_a_group_that_fails_as_a_whole_is_retried_one_by_one_each_exactly_once(
    ledger: LedgerHarness, monkeypatch: pytest.MonkeyPatch
):
    tenant = await ledger.add_tenant()
    master, ben = await ledger.add_user(tenant, "master"), await ledger.add_user(tenant)
    await ledger.fund(tenant, "system", 500)
    await ledger.fund(tenant, user_code(ben.user_id), 100)  # opened: an account's first transfer goes alone
    real_write = store.write_postings
    failed = []

    async def write_failing_groups(conn, writes, *rest):
        if len(writes) > 1:  # what a group writes; a single transfer writes one
            failed.append(len(writes))
            raise ConnectionResetError("the database went away mid-group")
        await real_write(conn, writes, *rest)

    monkeypatch.setattr(store, "write_postings", write_failing_groups)
    results = await asyncio.gather(*(ledger.transfer(ledger.as_user(master), "system", user_code(ben.user_id), 5)
                                     for _ in range(40)))
    assert failed, "no group was formed"
    assert {status for status, _ in results} == {201}
    assert len({body["id"] for _, body in results}) == 40
    assert await ledger.balances(tenant, "system", user_code(ben.user_id)) == {
        "system": 300, user_code(ben.user_id): 300
    }
    count = await ledger.pool.fetchval("SELECT count(*) FROM transactions WHERE tenant_id = $1 AND kind = 'transfer'",
                                       tenant)
    assert count == 40
    await _invariants_hold(ledger)
