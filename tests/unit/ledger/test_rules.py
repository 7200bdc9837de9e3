"""The ledger's pure rules: transfers, hold resolution, low-balance alerts."""

from __future__ import annotations

import uuid

import pytest

from common.permissions import Actor, Owner
from services.ledger.holds import domain as holds
from services.ledger.holds.domain import HoldState
from services.ledger.postings import domain as postings
from services.ledger.transfers import domain as transfers
from services.ledger.transfers.domain import Holder

MAX = 1000
ME, MATE, OTHER = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
SYSTEM = Holder("system", None, can_receive=True)


def user(user_id: uuid.UUID, team: str | None, can_receive: bool = True) -> Holder:
    return Holder(f"user:{user_id}", Owner(user_id, team), can_receive)


def actor(role: str = "user", manage_credits: bool = False) -> Actor:
    return Actor(ME, role, "A", manage_credits)


def check(who: Actor, source: Holder, target: Holder, quantity: int = 5, accept_terms: bool = True,
          mode: str = "individual") -> None:
    transfers.check_transfer(who, source, target, quantity, accept_terms, mode, MAX)


@pytest.mark.parametrize("quantity", [0, -1, MAX + 1])
def test_a_quantity_outside_one_to_the_maximum_is_out_of_range(quantity: int):
    with pytest.raises(postings.QuantityOutOfRange):
        check(actor("master"), SYSTEM, user(MATE, "A"), quantity)


def test_the_rules_are_checked_in_the_order_a_user_can_act_on():
    # Terms before permission: the form's own mistakes come first.
    with pytest.raises(transfers.TermsNotAccepted):
        check(actor(), SYSTEM, user(OTHER, "B"), accept_terms=False)
    with pytest.raises(transfers.SameAccount):
        check(actor("master"), SYSTEM, SYSTEM)
    with pytest.raises(transfers.TransfersNeedIndividualMode):
        check(actor("master"), SYSTEM, user(MATE, "A"), mode="shared")


def test_an_ordinary_user_gives_from_their_own_account_to_their_team_only():
    check(actor(), user(ME, "A"), user(MATE, "A"))
    for source, target in [(user(MATE, "A"), user(ME, "A")), (user(ME, "A"), user(OTHER, "B")),
                           (user(ME, "A"), SYSTEM), (SYSTEM, user(ME, "A"))]:
        with pytest.raises(transfers.AccountForbidden):
            check(actor(), source, target)


def test_a_credit_manager_moves_between_any_users_but_never_system_credits():
    check(actor(manage_credits=True), user(MATE, "A"), user(OTHER, "B"))
    for source, target in [(SYSTEM, user(OTHER, "B")), (user(OTHER, "B"), SYSTEM)]:
        with pytest.raises(transfers.AccountForbidden):
            check(actor(manage_credits=True), source, target)


def test_a_master_moves_between_system_credits_and_any_user():
    check(actor("master"), SYSTEM, user(OTHER, "B"))
    check(actor("master"), user(OTHER, "B"), SYSTEM)
    check(actor("master"), user(OTHER, "B"), user(MATE, "A"))


def test_a_recipient_who_cannot_receive_is_refused_even_for_a_master():
    with pytest.raises(transfers.RecipientCannotReceive):
        check(actor("master"), SYSTEM, user(OTHER, "B", can_receive=False))


def hold(status: str, quantity: int = 10) -> HoldState:
    return HoldState(uuid.uuid4(), uuid.uuid4(), "system", quantity, 0, status)


@pytest.mark.parametrize(("status", "wanted", "outcome"), [
    ("open", "captured", True), ("open", "voided", True),
    ("captured", "captured", False), ("voided", "voided", False), ("expired", "voided", False),
    ("voided", "captured", holds.HoldAlreadyResolved), ("expired", "captured", holds.HoldAlreadyResolved),
    ("captured", "voided", holds.HoldAlreadyResolved),
])
def test_resolving_a_hold_again_is_harmless_and_the_opposite_resolution_a_conflict(
    status: str, wanted: str, outcome: bool | type[Exception]
):
    if isinstance(outcome, bool):
        assert holds.resolution(hold(status), wanted) is outcome
    else:
        with pytest.raises(outcome):
            holds.resolution(hold(status), wanted)


def test_a_capture_takes_all_by_default_part_when_asked_and_never_more_than_held():
    assert holds.capture_amount(hold("open"), None) == 10
    assert holds.capture_amount(hold("open"), 4) == 4
    assert holds.capture_amount(hold("open"), 0) == 0
    for too_much in (11, -1):
        with pytest.raises(postings.QuantityOutOfRange):
            holds.capture_amount(hold("open"), too_much)


def test_a_low_balance_alerts_once_per_crossing_and_rearms_at_the_threshold():
    alerted = False
    sent = []
    for available in [100, 60, 49, 30, 10, 50, 70, 40, 45]:
        send, alerted = postings.low_balance_alert(available, 50, alerted)
        sent.append(send)
    assert sent == [False, False, True, False, False, False, False, True, False]


def test_no_low_balance_alert_without_a_threshold():
    assert postings.low_balance_alert(0, 0, False) == (False, False)
