"""Credits in and out per day, in the tenant's own days. Pure and synchronous."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo


@dataclass(frozen=True)
class DailyUsage:
    day: date
    credits_in: int
    credits_out: int


@dataclass(frozen=True)
class Period:
    """The last `len(days)` days of the tenant's calendar, today included, and the instant the first began."""

    days: list[date]
    since: datetime


def period(now: datetime, zone: tzinfo, days: int) -> Period:
    today = now.astimezone(zone).date()
    first = today - timedelta(days=days - 1)
    # Midnight where the tenant is, as an instant: the store compares it with UTC times.
    since = datetime.combine(first, time(), tzinfo=zone).astimezone(UTC)
    return Period([first + timedelta(days=n) for n in range(days)], since)


def daily_usage(buckets: Iterable[tuple[datetime, int, int]], zone: tzinfo, wanted: Period) -> list[DailyUsage]:
    """Every day of the period, oldest first, zeros where nothing moved. The store sums the log in
    quarter-hour buckets (every time zone's offset is a whole number of quarter hours), so each bucket
    lies inside one of the tenant's days, whichever zone that is."""
    totals = {day: [0, 0] for day in wanted.days}
    for start, credits_in, credits_out in buckets:
        sums = totals.get(start.astimezone(zone).date())
        if sums is not None:
            sums[0] += credits_in
            sums[1] += credits_out
    return [DailyUsage(day, sums[0], sums[1]) for day, sums in totals.items()]
