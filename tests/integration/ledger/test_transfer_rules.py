"""The transfer rules, checked by the ledger's own HTTP API (not only by the gateway in front of it)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from common.accounts import user_code
from common.contracts.events import UserChanged
from tests.integration.ledger.conftest import LedgerHarness

MAX = 1_000_000  # LedgerSettings.max_transfer_quantity's default


@dataclass
class Tenant:
    id: uuid.UUID
    master: UserChanged
    manager: UserChanged  # manage_credits, team B
    alice: UserChanged  # team A
    ann: UserChanged  # team A, Alice's teammate
    bob: UserChanged  # team B, another team

    def code(self, name: str) -> str:
        return "system" if name == "system" else user_code(getattr(self, name).user_id)


async def _tenant(ledger: LedgerHarness, credits: int = 1000) -> Tenant:
    tenant_id = await ledger.add_tenant()
    tenant = Tenant(
        tenant_id,
        master=await ledger.add_user(tenant_id, "master", team="A"),
        manager=await ledger.add_user(tenant_id, team="B", manage_credits=True),
        alice=await ledger.add_user(tenant_id, team="A"),
        ann=await ledger.add_user(tenant_id, team="A"),
        bob=await ledger.add_user(tenant_id, team="B"),
    )
    for name in ("system", "manager", "alice", "ann", "bob"):
        await ledger.fund(tenant_id, tenant.code(name), credits)
    return tenant


# (actor, from, to, status): every cell of the design's "Who may do what" table for transfers.
PERMISSION_TABLE = [
    # master: from System Credits or any user, to System Credits or any user
    ("master", "system", "alice", 201),
    ("master", "alice", "bob", 201),
    ("master", "bob", "system", 201),
    # manage_credits: from and to any user, never System Credits
    ("manager", "alice", "bob", 201),
    ("manager", "manager", "ann", 201),
    ("manager", "ann", "manager", 201),
    ("manager", "system", "alice", 403),
    ("manager", "alice", "system", 403),
    # a team member: from their own account only, to themselves and their own team
    ("alice", "alice", "ann", 201),
    ("alice", "ann", "alice", 403),
    ("alice", "alice", "bob", 403),
    ("alice", "alice", "system", 403),
    ("alice", "system", "alice", 403),
    ("alice", "alice", "manager", 403),
    # a user of another team: nothing of Alice's, nothing into her team
    ("bob", "alice", "bob", 403),
    ("bob", "bob", "alice", 403),
    ("bob", "bob", "manager", 201),
]


async def test_every_cell_of_the_permission_table_for_transfers(ledger: LedgerHarness):
    tenant = await _tenant(ledger)
    names = ("system", "manager", "alice", "ann", "bob")
    wrong = []
    for actor, source, target, expected in PERMISSION_TABLE:
        codes = [tenant.code(n) for n in names]
        before = await ledger.balances(tenant.id, *codes)
        status, body = await ledger.transfer(ledger.as_user(getattr(tenant, actor)),
                                             tenant.code(source), tenant.code(target), 7)
        after = await ledger.balances(tenant.id, *codes)
        moved = {c: after[c] - before[c] for c in codes if after[c] != before[c]}
        should_move = {tenant.code(source): -7, tenant.code(target): 7} if expected == 201 else {}
        if status != expected or moved != should_move:
            wrong.append(f"{actor}: {source} -> {target}: {status} {body.get('type', '')} moved {moved}")
    assert not wrong, "\n".join(wrong)


async def test_quantities_out_of_range_are_refused(ledger: LedgerHarness):
    tenant = await _tenant(ledger)
    master = ledger.as_user(tenant.master)
    for quantity in (0, -5, MAX + 1, 10**30):
        status, problem = await ledger.transfer(master, "system", tenant.code("alice"), quantity)
        assert status == 422, (quantity, problem)
        assert problem["type"] == "/problems/quantity-out-of-range"
    status, _ = await ledger.transfer(master, "system", tenant.code("alice"), MAX)
    assert status == 422  # in range, but more than the 1000 held: insufficient, not out of range
    assert _["type"] == "/problems/insufficient-credits"


async def test_a_transfer_without_accepting_the_terms_is_refused(ledger: LedgerHarness):
    tenant = await _tenant(ledger)
    status, problem = await ledger.transfer(ledger.as_user(tenant.master), "system", tenant.code("alice"), 5,
                                            accept_terms=False)
    assert status == 422 and problem["type"] == "/problems/terms-not-accepted"


async def test_a_transfer_to_the_same_account_is_refused(ledger: LedgerHarness):
    tenant = await _tenant(ledger)
    status, problem = await ledger.transfer(ledger.as_user(tenant.master), tenant.code("alice"),
                                            tenant.code("alice"), 5)
    assert status == 422 and problem["type"] == "/problems/same-account"


async def test_a_recipient_who_is_inactive_or_may_not_send_sms_cannot_receive(ledger: LedgerHarness):
    tenant = await _tenant(ledger)
    gone = await ledger.add_user(tenant.id, team="A", active=False)
    mute = await ledger.add_user(tenant.id, team="A", send_sms=False)
    for recipient in (gone, mute):
        status, problem = await ledger.transfer(ledger.as_user(tenant.master), "system",
                                                user_code(recipient.user_id), 5)
        assert status == 422 and problem["type"] == "/problems/recipient-cannot-receive", problem
        assert (await ledger.balances(tenant.id, user_code(recipient.user_id)))[user_code(recipient.user_id)] == 0


async def test_transfers_in_a_shared_mode_tenant_are_refused(ledger: LedgerHarness):
    tenant_id = await ledger.add_tenant("shared")
    master, ben = await ledger.add_user(tenant_id, "master"), await ledger.add_user(tenant_id)
    await ledger.fund(tenant_id, "system", 100)
    status, problem = await ledger.transfer(ledger.as_user(master), "system", user_code(ben.user_id), 5)
    assert status == 422 and problem["type"] == "/problems/shared-mode"
    assert (await ledger.balances(tenant_id, "system"))["system"] == 100


async def test_a_transfer_naming_an_unknown_user_account_is_not_found(ledger: LedgerHarness):
    tenant = await _tenant(ledger)
    stranger = user_code(uuid.uuid4())
    status, problem = await ledger.transfer(ledger.as_user(tenant.master), "system", stranger, 5)
    assert status == 404, problem
    status, problem = await ledger.transfer(ledger.as_user(tenant.master), stranger, "system", 5)
    assert status == 404, problem
    assert await ledger.pool.fetchval("SELECT count(*) FROM accounts WHERE code = $1", stranger) == 0


async def test_a_user_of_another_tenant_is_not_found(ledger: LedgerHarness):
    tenant, other = await _tenant(ledger), await _tenant(ledger)
    status, _ = await ledger.transfer(ledger.as_user(tenant.master), "system", other.code("alice"), 5)
    assert status == 404
    assert (await ledger.balances(other.id, other.code("alice")))[other.code("alice")] == 1000


async def test_the_accepted_terms_version_is_stored_on_the_transaction(ledger: LedgerHarness):
    tenant = await _tenant(ledger)
    status, body = await ledger.transfer(ledger.as_user(tenant.master), "system", tenant.code("alice"), 5)
    assert status == 201
    stored = await ledger.pool.fetchrow("SELECT terms_version, actor_user_id FROM transactions WHERE id = $1",
                                        uuid.UUID(body["id"]))
    assert stored["terms_version"] == "2026-11" and stored["actor_user_id"] == tenant.master.user_id
    [event] = [e["data"] for e in await ledger.outbox("ledger.transaction.posted", tenant.id)
               if e["data"]["transaction_id"] == body["id"]]
    assert event["terms_version"] == "2026-11"


async def test_a_refused_transfer_changes_no_balance_and_writes_no_outbox_row(ledger: LedgerHarness):
    tenant = await _tenant(ledger, credits=10)
    codes = [tenant.code(n) for n in ("system", "alice", "bob")]
    before = await ledger.balances(tenant.id, *codes)
    outbox = await ledger.pool.fetchval("SELECT count(*) FROM outbox")
    transactions = await ledger.pool.fetchval("SELECT count(*) FROM transactions")
    refusals = [
        (tenant.master, "system", "alice", 11),  # insufficient
        (tenant.alice, "alice", "bob", 5),  # forbidden
        (tenant.master, "system", "alice", 0),  # out of range
    ]
    for actor, source, target, quantity in refusals:
        status, _ = await ledger.transfer(ledger.as_user(actor), tenant.code(source), tenant.code(target), quantity)
        assert status in (403, 422)
    assert await ledger.balances(tenant.id, *codes) == before
    assert await ledger.pool.fetchval("SELECT count(*) FROM outbox") == outbox
    assert await ledger.pool.fetchval("SELECT count(*) FROM transactions") == transactions


async def test_the_same_key_with_a_different_body_is_a_conflict(ledger: LedgerHarness):
    tenant = await _tenant(ledger)
    master, key = ledger.as_user(tenant.master), str(uuid.uuid4())
    first, _ = await ledger.transfer(master, "system", tenant.code("alice"), 5, key=key)
    again, replay = await ledger.transfer(master, "system", tenant.code("alice"), 5, key=key)
    other, problem = await ledger.transfer(master, "system", tenant.code("alice"), 6, key=key)
    elsewhere, _ = await ledger.transfer(master, "system", tenant.code("bob"), 5, key=key)
    assert (first, again, other, elsewhere) == (201, 201, 409, 409), problem
    assert problem["type"] == "/problems/idempotency-key-reused"
    assert replay["from"]["balance"] == 995
    assert (await ledger.balances(tenant.id, "system"))["system"] == 995
