"""The lots' rules: the spending order, lapsed credits never spendable, holds settling what they reserved,
credits carrying their lot across a transfer, and credits from outside starting a lot of their own."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from common.accounts import EXPIRED, PROMOTIONS, SPENT, WORLD
from services.ledger.lots.domain import (
    GrantInvalid,
    Holding,
    check_grant_expiry,
    expiring_by,
    in_spending_order,
    plan_lots,
    spendable,
)
from services.ledger.lots.rules import Lot, LotRules, NewLot, Pin
from services.ledger.postings.domain import InsufficientCredits, Movement, UnbalancedTransaction

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)
A, B = "user:00000000-0000-0000-0000-00000000000a", "user:00000000-0000-0000-0000-00000000000b"


def lot(name: str, *, paid: bool = True, expires_in_days: int | None = None, granted_days_ago: int = 10) -> Lot:
    expires = NOW + timedelta(days=expires_in_days) if expires_in_days is not None else None
    return Lot(uuid.uuid5(uuid.NAMESPACE_DNS, name), "purchase" if paid else "grant", paid,
               NOW - timedelta(days=granted_days_ago), expires)


def by_lot(plan_holdings: list[Holding]) -> dict[uuid.UUID, tuple[int, int]]:
    return {h.lot.id: (h.remaining, h.reserved) for h in plan_holdings}


def test_the_spending_order_is_promotional_then_soonest_expiring_then_oldest() -> None:
    old_forever = Holding(lot("old forever", granted_days_ago=300), 5)
    new_forever = Holding(lot("new forever", granted_days_ago=1), 5)
    soon = Holding(lot("soon", expires_in_days=3), 5)
    later = Holding(lot("later", expires_in_days=90), 5)
    promo_late = Holding(lot("promo late", paid=False, expires_in_days=200), 5)
    promo_soon = Holding(lot("promo soon", paid=False, expires_in_days=20), 5)
    shuffled = [new_forever, later, promo_late, old_forever, soon, promo_soon]
    assert in_spending_order(shuffled) == [promo_soon, promo_late, soon, later, old_forever, new_forever]


def test_a_transfer_takes_in_spending_order_and_the_credits_keep_their_lot_and_expiry() -> None:
    promo, paid = lot("promo", paid=False, expires_in_days=30), lot("paid", expires_in_days=365)
    holdings = {A: [Holding(paid, 100), Holding(promo, 10)], B: []}
    plan = plan_lots(holdings, [Movement(A, -25), Movement(B, 25)], {}, LotRules(), NOW)
    assert by_lot(plan.holdings_after[A]) == {paid.id: (85, 0)}  # the promotional lot is used up and gone
    assert by_lot(plan.holdings_after[B]) == {promo.id: (10, 0), paid.id: (15, 0)}
    assert {(m.code, m.lot.id, m.amount) for m in plan.moves} == {
        (A, promo.id, -10), (A, paid.id, -15), (B, promo.id, 10), (B, paid.id, 15)}
    assert plan.new_lots == []


def test_lapsed_credits_are_never_spendable_even_when_the_balance_has_them() -> None:
    lapsed, fresh = lot("lapsed", expires_in_days=-1), lot("fresh")
    holdings = {A: [Holding(lapsed, 50), Holding(fresh, 10)], B: []}
    assert spendable(holdings[A], NOW) == 10
    with pytest.raises(InsufficientCredits, match="10 credits available"):
        plan_lots(holdings, [Movement(A, -11), Movement(B, 11)], {}, LotRules(), NOW)
    with pytest.raises(InsufficientCredits):
        plan_lots(holdings, [], {A: 11}, LotRules(), NOW)  # nor may a hold reserve them


def test_a_hold_reserves_by_lot_and_its_capture_spends_what_it_reserved_even_after_the_lot_lapsed() -> None:
    soon, forever = lot("soon", expires_in_days=1), lot("forever")
    holdings = {A: [Holding(soon, 3), Holding(forever, 10)]}
    placed = plan_lots(holdings, [], {A: 5}, LotRules(), NOW)
    assert by_lot(placed.holdings_after[A]) == {soon.id: (3, 3), forever.id: (10, 2)}
    pins = tuple(Pin(m.lot.id, m.reserved) for m in placed.moves)

    two_days_later = NOW + timedelta(days=2)  # `soon` lapsed while the message was being sent
    captured = plan_lots({A: placed.holdings_after[A]}, [Movement(A, -4), Movement(SPENT, 4)], {A: -5},
                         LotRules(pins=pins), two_days_later)
    assert by_lot(captured.holdings_after[A]) == {forever.id: (9, 0)}  # the lapsed lot spent first, then 1 more


def test_a_capture_spends_only_what_its_hold_reserved_even_where_its_lots_hold_more() -> None:
    promo, lapsing = lot("promo", paid=False), lot("lapsing", expires_in_days=1)
    # The hold reserved 5 of each; the promotional lot also holds 5 free credits (given back since), and the
    # lapsing lot 5 free ones another hold released after it lapsed (waiting for the sweeper).
    holdings = {A: [Holding(promo, 10, 5), Holding(lapsing, 10, 5)]}
    pins = (Pin(promo.id, 5), Pin(lapsing.id, 5))
    later = NOW + timedelta(days=2)
    captured = plan_lots(holdings, [Movement(A, -10), Movement(SPENT, 10)], {A: -10}, LotRules(pins=pins), later)
    assert by_lot(captured.holdings_after[A]) == {promo.id: (5, 0), lapsing.id: (5, 0)}  # 5 from each, no more
    part = plan_lots(holdings, [Movement(A, -7), Movement(SPENT, 7)], {A: -10}, LotRules(pins=pins), later)
    assert by_lot(part.holdings_after[A]) == {promo.id: (5, 0), lapsing.id: (8, 0)}  # the promotional pin first


def test_a_release_gives_back_exactly_what_was_reserved_and_nothing_else() -> None:
    one, two = lot("one"), lot("two", expires_in_days=5)
    holdings = {A: [Holding(one, 10, 4), Holding(two, 10, 1)]}
    released = plan_lots(holdings, [], {A: -4}, LotRules(pins=(Pin(one.id, 4),)), NOW)
    assert by_lot(released.holdings_after[A]) == {one.id: (10, 0), two.id: (10, 1)}
    with pytest.raises(UnbalancedTransaction):
        plan_lots(holdings, [], {A: -4}, LotRules(pins=(Pin(one.id, 3),)), NOW)


def test_credits_from_outside_start_a_lot_and_without_one_it_is_a_bug() -> None:
    spec = NewLot("purchase", True, NOW + timedelta(days=365), "purchase:1")
    plan = plan_lots({A: []}, [Movement(WORLD, -100), Movement(A, 100)], {}, LotRules(new_lot=spec), NOW)
    [(started, quantity)] = plan.new_lots
    assert (started.id, started.granted_at, started.expires_at, quantity) == (spec.id, NOW, spec.expires_at, 100)
    assert by_lot(plan.holdings_after[A]) == {spec.id: (100, 0)}
    with pytest.raises(UnbalancedTransaction):
        plan_lots({A: []}, [Movement(PROMOTIONS, -1), Movement(A, 1)], {}, LotRules(), NOW)


def test_a_refund_takes_only_from_its_purchases_lot_and_an_expiry_takes_a_lapsed_lot() -> None:
    mine, other = lot("mine"), lot("other", expires_in_days=-3)
    holdings = {A: [Holding(mine, 5), Holding(other, 100)]}
    with pytest.raises(InsufficientCredits, match="5 credits available"):
        plan_lots(holdings, [Movement(A, -6), Movement(WORLD, 6)], {}, LotRules(only_lots=frozenset({mine.id})), NOW)
    expiry = plan_lots(holdings, [Movement(A, -100), Movement(EXPIRED, 100)], {},
                       LotRules(only_lots=frozenset({other.id}), include_lapsed=True), NOW)
    assert by_lot(expiry.holdings_after[A]) == {mine.id: (5, 0)}


def test_a_restore_refills_the_lots_the_debit_took() -> None:
    mine = lot("mine", expires_in_days=100)
    plan = plan_lots({A: []}, [Movement(WORLD, -7), Movement(A, 7)], {}, LotRules(refill=((mine, 7),)), NOW)
    assert by_lot(plan.holdings_after[A]) == {mine.id: (7, 0)} and plan.new_lots == []


def test_credits_expiring_soon_count_what_lapses_by_then() -> None:
    held = [Holding(lot("a", expires_in_days=10), 4), Holding(lot("b", expires_in_days=40), 6), Holding(lot("c"), 9)]
    assert expiring_by(held, NOW + timedelta(days=30)) == 4


def test_a_grant_expires_in_the_future_with_a_time_zone() -> None:
    check_grant_expiry(None, NOW)
    check_grant_expiry(NOW + timedelta(seconds=1), NOW)
    with pytest.raises(GrantInvalid):
        check_grant_expiry(NOW, NOW)
    with pytest.raises(GrantInvalid):
        check_grant_expiry(datetime(2030, 1, 1), NOW)


def test_an_undelivered_recipients_credits_go_where_they_can_still_be_spent() -> None:
    from services.ledger.spending.domain import give_back_to

    assert give_back_to(A, "individual", can_receive=True) == A
    assert give_back_to(A, "shared", can_receive=True) == "system"  # switched since: users spend from System
    assert give_back_to(A, "individual", can_receive=False) == "system"  # deactivated since: swept to System
    assert give_back_to("system", "individual", can_receive=False) == "system"
