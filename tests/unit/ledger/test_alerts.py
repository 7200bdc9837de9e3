"""Balance alert rules: what a level is in credits, when a change crosses it, and what setting levels checks."""

from __future__ import annotations

import uuid

import pytest

from common.identity import Identity
from common.problems import Forbidden
from services.ledger.alerts import domain
from services.ledger.alerts.domain import AccountAlerts, Level
from services.ledger.postings.domain import Account
from services.ledger.postings.usecases import balance_alerts

ACCOUNT = uuid.uuid4()


def _level(name: str, kind: str, value: int, below: bool = False, position: int = 0) -> Level:
    return Level(uuid.uuid4(), ACCOUNT, position, name, kind, value, below)  # type: ignore[arg-type]


def test_an_absolute_level_is_its_credits_and_a_percent_level_follows_the_last_purchase():
    assert domain.threshold_of(_level("Low", "absolute", 50), None) == 50
    assert domain.threshold_of(_level("Low", "percent", 20), 1000) == 200
    assert domain.threshold_of(_level("Low", "percent", 33), 100) == 33  # rounded down
    assert domain.threshold_of(_level("Low", "percent", 20), None) is None  # no purchase yet: inactive


def test_falling_below_a_level_is_announced_once_and_rising_to_it_once():
    alerts = AccountAlerts((_level("Low", "absolute", 50),))
    alerts, crossed = domain.evaluate(alerts, 49)
    assert [(c.level.name, c.threshold, c.recovered) for c in crossed] == [("Low", 50, False)]
    alerts, crossed = domain.evaluate(alerts, 10)
    assert crossed == [] and alerts.levels[0].below
    alerts, crossed = domain.evaluate(alerts, 50)  # at the level is not below it
    assert [(c.level.name, c.recovered) for c in crossed] == [("Low", True)]
    alerts, crossed = domain.evaluate(alerts, 70)
    assert crossed == [] and not alerts.levels[0].below


def test_one_change_crossing_several_levels_announces_each_highest_first_and_recovers_lowest_first():
    alerts = AccountAlerts((_level("Critical", "absolute", 10, position=0), _level("Low", "percent", 50, position=1),
                            _level("Warning", "absolute", 300, position=2)), last_purchase=200)
    alerts, crossed = domain.evaluate(alerts, 5)
    assert [(c.level.name, c.threshold) for c in crossed] == [("Warning", 300), ("Low", 100), ("Critical", 10)]
    alerts, crossed = domain.evaluate(alerts, 150)
    assert [(c.level.name, c.recovered) for c in crossed] == [("Critical", True), ("Low", True)]
    assert [level.below for level in alerts.levels] == [False, False, True]


def test_a_percent_level_without_a_purchase_announces_nothing_and_keeps_its_flag():
    alerts = AccountAlerts((_level("Low", "percent", 20),), last_purchase=None)
    after, crossed = domain.evaluate(alerts, 0)
    assert crossed == [] and after == alerts


def test_new_levels_start_below_when_the_balance_already_is_so_setting_them_sends_nothing():
    levels = domain.new_levels(ACCOUNT, [("Low", "absolute", 50), ("Half", "percent", 50), ("Zero", "percent", 10)],
                               available=40, last_purchase=None)
    assert [(lv.name, lv.below, lv.position) for lv in levels] == [("Low", True, 0), ("Half", False, 1),
                                                                    ("Zero", False, 2)]
    _, crossed = domain.evaluate(AccountAlerts(tuple(levels)), 30)
    assert crossed == []


@pytest.mark.parametrize("levels", [
    [("Low", "absolute", 0)],
    [("Low", "percent", 0)],
    [("Low", "percent", 101)],
    [("Low", "absolute", 5), ("low ", "absolute", 6)],
    [(" ", "absolute", 5)],
    [(f"L{n}", "absolute", n + 1) for n in range(6)],
])
def test_levels_that_break_a_rule_are_refused(levels: list[tuple[str, str, int]]):
    with pytest.raises(domain.AlertInvalid):
        domain.check_levels(levels)


def test_levels_are_set_by_a_person_of_the_tenant():
    tenant = uuid.uuid4()
    assert domain.require_setter(Identity(role="user", tenant_id=tenant, user_id=uuid.uuid4())) == tenant
    for identity in (Identity(role="service", tenant_id=tenant), Identity(role="master")):
        with pytest.raises(Forbidden):
            domain.require_setter(identity)


def test_an_account_with_levels_is_alerted_by_them_and_one_without_by_the_tenants_threshold():
    tenant = uuid.uuid4()
    with_levels = Account(ACCOUNT, tenant, "user:" + str(uuid.uuid4()), "user", balance=40, held=0)
    without = Account(uuid.uuid4(), tenant, "system", "system", balance=40, held=0)
    low = _level("Low", "absolute", 45)
    accounts, raised, after = balance_alerts(tenant, [with_levels, without], 100, {ACCOUNT: AccountAlerts((low,))})
    assert [(e.type.rsplit(".", 2)[-2:], e.data["account_id"], e.data.get("level")) for e in raised] == [
        (["balance", "low"], str(ACCOUNT), "Low"), (["balance", "low"], str(without.id), None)]
    assert raised[0].data["alert_id"] == str(low.id) and raised[0].data["threshold"] == 45
    assert after[ACCOUNT].levels[0].below
    # The tenant's threshold is tracked silently for the account with levels: no storm if they are removed.
    assert [a.low_balance_alerted for a in accounts] == [True, True]
