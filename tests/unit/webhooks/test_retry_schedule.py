"""The back-off: a growing wait after each failure, about three days in all, then the delivery fails."""

from __future__ import annotations

import itertools

import pytest

from services.webhooks.deliveries.domain import MAX_ATTEMPTS, RETRY_SCHEDULE, retry_delay


def test_the_waits_grow_from_seconds_to_hours():
    delays = [retry_delay(n) or 0.0 for n in range(1, MAX_ATTEMPTS)]
    assert delays[:4] == [5, 300, 1800, 7200]
    assert all(later >= earlier for earlier, later in itertools.pairwise(delays))


def test_the_whole_schedule_takes_about_three_days_then_gives_up():
    total = sum(retry_delay(n) or 0 for n in range(1, MAX_ATTEMPTS))
    assert 2.75 * 86400 <= total <= 3 * 86400
    assert retry_delay(MAX_ATTEMPTS) is None
    assert MAX_ATTEMPTS == len(RETRY_SCHEDULE) + 1 == 11


def test_the_scale_shrinks_the_schedule_for_tests():
    assert retry_delay(1, 0.001) == pytest.approx(0.005)
    assert retry_delay(10, 0.0001) == pytest.approx(5.04)
    with pytest.raises(ValueError):
        retry_delay(0)

