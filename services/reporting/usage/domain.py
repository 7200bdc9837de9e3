"""Credits in and out per day, in the tenant's own days: in split into purchased and promotional credits,
and how much of out expired. Pure and synchronous."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo


class InAndOut:
    """Credits in split into purchased and promotional, credits out into expired and the rest: what a day
    of the chart and an account's totals in the report both show."""

    credits_in: int  # purchased and promotional
    credits_out: int  # expired included
    promotional_in: int  # of credits_in, those of promotional lots
    expired: int  # of credits_out, those whose lot lapsed

    @property
    def purchased_in(self) -> int:
        """Credits in that were paid for (bought here, or moved here by a transfer or a sweep)."""
        return self.credits_in - self.promotional_in

    @property
    def out_not_expired(self) -> int:
        """Credits out other than expired ones (sent, moved away, refunded)."""
        return self.credits_out - self.expired


@dataclass(frozen=True)
class DailyUsage(InAndOut):
    day: date
    credits_in: int
    credits_out: int
    promotional_in: int = 0
    expired: int = 0


@dataclass(frozen=True)
class Bucket:
    """What the store sums per quarter hour (see daily_usage)."""

    start: datetime
    credits_in: int
    credits_out: int
    promotional_in: int = 0
    expired: int = 0


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


def daily_usage(buckets: Iterable[Bucket], zone: tzinfo, wanted: Period) -> list[DailyUsage]:
    """Every day of the period, oldest first, zeros where nothing moved. The store sums the log in
    quarter-hour buckets (every time zone's offset is a whole number of quarter hours), so each bucket
    lies inside one of the tenant's days, whichever zone that is."""
    totals = {day: [0, 0, 0, 0] for day in wanted.days}
    for bucket in buckets:
        sums = totals.get(bucket.start.astimezone(zone).date())
        if sums is not None:
            sums[0] += bucket.credits_in
            sums[1] += bucket.credits_out
            sums[2] += bucket.promotional_in
            sums[3] += bucket.expired
    return [DailyUsage(day, *sums) for day, sums in totals.items()]
