"""The cluster campaign's pure parts: availability over fault windows, and the faults' first round."""

from __future__ import annotations

import random
from pathlib import Path

from scripts.cluster.layout import Layout
from tests.chaos.cluster.availability import Window, availability, union_seconds
from tests.chaos.cluster.faults import POSTGRES_REPLICA, every_kind, first_round, random_kinds
from tests.chaos.driver import Attempt


def test_a_request_counts_as_during_a_fault_when_it_overlaps_the_window() -> None:
    window = Window("kill ledger-1", start=10.0, end=20.0)
    assert window.overlaps(Attempt(9.0, 10.5, False))  # sent before the kill, cut by it
    assert window.overlaps(Attempt(19.5, 21.0, False))  # sent before the balancer counted it back in
    assert window.overlaps(Attempt(12.0, 13.0, True))
    assert not window.overlaps(Attempt(5.0, 9.9, True))
    assert not window.overlaps(Attempt(20.1, 22.0, True))


def test_failed_share_is_counted_overall_and_while_something_was_down() -> None:
    attempts = [Attempt(float(t), t + 0.1, False) for t in range(100)]
    attempts += [Attempt(15.0, 15.2, True), Attempt(55.0, 55.3, True), Attempt(90.0, 90.1, True)]
    windows = [Window("kill ledger-1", 10, 20), Window("kill rabbit-2", 50, 60), Window("kill ledger-2", 70, 71)]
    figures = availability(attempts, windows)
    assert (figures.overall.requests, figures.overall.failed) == (103, 3)
    # 10..20 and 50..60 hold 11 good ones each (both ends overlap), 70..71 two; plus two failed.
    assert (figures.while_down.requests, figures.while_down.failed) == (26, 2)
    assert round(figures.while_down.percent, 2) == 7.69
    assert set(figures.by_family) == {"kill ledger", "kill rabbit"}
    assert figures.by_family["kill ledger"].failed == 1
    assert not figures.goal_met


def test_a_request_in_two_overlapping_windows_is_counted_once() -> None:
    attempts = [Attempt(15.0, 16.0, True), Attempt(30.0, 31.0, False)]
    figures = availability(attempts, [Window("kill billing-1", 10, 20), Window(POSTGRES_REPLICA, 12, 25)])
    assert (figures.while_down.requests, figures.while_down.failed) == (1, 1)
    assert figures.by_family[POSTGRES_REPLICA].requests == 1
    assert figures.seconds_down == 15


def test_no_failure_while_down_meets_the_goal_but_no_request_at_all_does_not() -> None:
    assert availability([Attempt(1, 2, False)], [Window("kill gateway-1", 0, 5)]).goal_met
    assert not availability([Attempt(10, 11, False)], [Window("kill gateway-1", 0, 5)]).goal_met
    assert availability([], []).overall.percent == 0.0


def test_union_of_windows_counts_overlaps_once() -> None:
    assert union_seconds([Window("a", 0, 10), Window("b", 5, 12), Window("c", 20, 21)]) == 13
    assert union_seconds([]) == 0


def test_a_fault_family_drops_the_replica_number_only() -> None:
    assert Window("kill rabbit-3", 0, 1).family == "kill rabbit"
    assert Window("pause gateway-2", 0, 1).family == "pause gateway"
    assert Window(POSTGRES_REPLICA, 0, 1).family == POSTGRES_REPLICA


def test_the_first_round_takes_every_node_replica_and_the_postgres_replica_away_once() -> None:
    layout = Layout(Path("/nowhere"), offset=600)
    round_ = first_round(layout, random.Random(7))
    assert sorted(round_) == sorted(every_kind(layout))
    assert len(round_) == len(set(round_)) == 3 + 12 + 1
    assert {"kill rabbit-1", "kill rabbit-2", "kill rabbit-3", "kill ledger-1", "kill gateway-2",
            POSTGRES_REPLICA} <= set(round_)
    assert round_ != first_round(layout, random.Random(8))  # shuffled by the seed


def test_after_the_first_round_pauses_may_come_too() -> None:
    layout = Layout(Path("/nowhere"))
    later = random_kinds(layout)
    assert set(every_kind(layout)) < set(later)
    assert "pause messaging-1" in later and "pause rabbit-1" not in later
