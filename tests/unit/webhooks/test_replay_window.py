"""A replay's `since`, taken within the range Postgres stores whatever the client sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from services.webhooks.deliveries.domain import replay_from


def test_a_replays_since_is_kept_within_what_the_database_stores():
    assert replay_from(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14)))).year == 1970
    assert replay_from(datetime(9999, 12, 31, tzinfo=timezone(timedelta(hours=-14)))).year == 9000
    assert replay_from(datetime(2026, 12, 1)) == datetime(2026, 12, 1, tzinfo=UTC)
