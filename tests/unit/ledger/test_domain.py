import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.ledger.postings.domain import (
    Account,
    InsufficientCredits,
    Movement,
    UnbalancedTransaction,
    plan_postings,
)
from services.ledger.purchases.domain import purchase_movements

TENANT = uuid.uuid4()


def account(code: str, balance: int = 0, held: int = 0) -> Account:
    kind = "user" if code.startswith("user:") else code
    return Account(uuid.uuid4(), TENANT, code, kind, balance, held)  # type: ignore[arg-type]


def test_purchase_moves_credits_from_world_into_the_account():
    accounts = {"world": account("world"), "system": account("system", 10)}
    postings = plan_postings(accounts, purchase_movements("system", 500))
    assert [(p.code, p.amount, p.balance_after) for p in postings] == [("world", -500, -500), ("system", 500, 510)]


def test_spending_more_than_available_is_refused():
    accounts = {"system": account("system", 100, held=30), "user:x": account("user:x")}
    with pytest.raises(InsufficientCredits, match="70 credits available; 71 are needed"):
        plan_postings(accounts, [Movement("system", -71), Movement("user:x", 71)])


def test_spending_exactly_what_is_available_is_allowed():
    accounts = {"system": account("system", 100, held=30), "user:x": account("user:x")}
    postings = plan_postings(accounts, [Movement("system", -70), Movement("user:x", 70)])
    assert postings[0].balance_after == 30 and postings[0].held_after == 30


def test_movements_that_do_not_sum_to_zero_are_a_bug_not_a_transaction():
    accounts = {"world": account("world"), "system": account("system")}
    with pytest.raises(UnbalancedTransaction):
        plan_postings(accounts, [Movement("world", -5), Movement("system", 6)])


def test_a_movement_of_zero_is_refused():
    accounts = {"world": account("world"), "system": account("system")}
    with pytest.raises(UnbalancedTransaction):
        plan_postings(accounts, [Movement("world", 0), Movement("system", 0)])


@given(
    balances=st.lists(st.integers(0, 1000), min_size=2, max_size=5),
    moves=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4), st.integers(1, 500)), max_size=20),
)
def test_any_sequence_of_transfers_conserves_credits_and_never_overdraws(balances, moves):
    accounts = {f"user:{i}": account(f"user:{i}", b) for i, b in enumerate(balances)}
    total = sum(balances)
    for src, dst, qty in moves:
        src_code, dst_code = f"user:{src % len(balances)}", f"user:{dst % len(balances)}"
        if src_code == dst_code:
            continue
        try:
            postings = plan_postings(accounts, [Movement(src_code, -qty), Movement(dst_code, qty)])
        except InsufficientCredits:
            assert accounts[src_code].available < qty
            continue
        for p in postings:
            old = accounts[p.code]
            accounts[p.code] = Account(old.id, TENANT, old.code, old.kind, p.balance_after, old.held)
        assert all(a.available >= 0 for a in accounts.values())
        assert sum(a.balance for a in accounts.values()) == total
