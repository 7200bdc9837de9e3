"""The gateway's moving-window limits, on a clock the test moves."""

from __future__ import annotations

import pytest
from limits import parse

from gateway.web import ratelimit


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [1000.0]
    monkeypatch.setattr(ratelimit.time, "monotonic", lambda: now[0])
    return now


def test_a_window_allows_its_amount_then_refuses_until_the_oldest_event_leaves(clock):
    window = ratelimit.MovingWindow(parse("3/minute"))
    hits = []
    for _ in range(3):
        hits.append(window.hit("ben"))
        clock[0] += 10
    assert hits == [True, True, True]  # at 0, 10 and 20 s
    assert not window.hit("ben") and window.retry_after("ben") == 30
    assert window.hit("cleo")  # another key has its own window
    clock[0] += 29.5
    assert not window.hit("ben") and window.retry_after("ben") == 1
    clock[0] += 0.5
    assert window.hit("ben")  # the first event left: one more, and only one
    assert not window.hit("ben")


def test_refused_attempts_are_not_counted_and_test_counts_nothing(clock):
    window = ratelimit.MovingWindow(parse("2/second"))
    assert window.hit("k") and window.hit("k")
    for _ in range(10):
        assert not window.hit("k") and not window.test("k")
    clock[0] += 1
    assert window.test("k") and window.test("k")
    assert window.hit("k") and window.hit("k") and not window.hit("k")


def test_idle_keys_are_forgotten(clock):
    window = ratelimit.MovingWindow(parse("5/second"))
    for n in range(1000):
        window.hit(f"user-{n}")
    clock[0] += 2
    window.hit("late")
    assert set(window._events) == {"late"}
