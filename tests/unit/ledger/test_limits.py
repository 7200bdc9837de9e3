"""Spending limits' pure rules: the calendar month in the tenant's zone, what a limit leaves, the refusal,
and who may read or set a limit."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from common.identity import Identity
from common.zones import zone_or_utc
from services.ledger.limits import domain
from services.ledger.lots.clock import LedgerClock

SYDNEY = ZoneInfo("Australia/Sydney")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_a_month_in_sydney_starts_and_ends_at_local_midnight_on_the_first() -> None:
    # 15 March 2026, noon UTC: Sydney is on daylight time (+11) until 5 April.
    month = domain.month_of(utc(2026, 3, 15, 12), SYDNEY)
    assert month.starts_at == utc(2026, 2, 28, 13)  # 1 March 00:00 +11
    assert month.resets_at == utc(2026, 3, 31, 13)  # 1 April 00:00 +11 (still daylight time)


def test_a_month_with_the_end_of_daylight_saving_in_it_is_an_hour_longer() -> None:
    # Daylight time ends on 5 April 2026: April starts at +11 and ends at +10.
    month = domain.month_of(utc(2026, 4, 10), SYDNEY)
    assert month.starts_at == utc(2026, 3, 31, 13)
    assert month.resets_at == utc(2026, 4, 30, 14)
    assert month.resets_at - month.starts_at == timedelta(days=30, hours=1)


def test_a_month_with_the_start_of_daylight_saving_in_it_is_an_hour_shorter() -> None:
    # Daylight time starts on 4 October 2026: October starts at +10 and ends at +11.
    month = domain.month_of(utc(2026, 10, 20), SYDNEY)
    assert month.starts_at == utc(2026, 9, 30, 14)
    assert month.resets_at == utc(2026, 10, 31, 13)
    assert month.resets_at - month.starts_at == timedelta(days=31, hours=-1)


def test_the_first_of_the_month_in_sydney_is_still_the_previous_month_in_utc() -> None:
    # 1 May 00:30 in Sydney (+10) is 30 April 14:30 UTC: already May's window there.
    just_after = domain.month_of(utc(2026, 4, 30, 14, 30), SYDNEY)
    just_before = domain.month_of(utc(2026, 4, 30, 13, 59), SYDNEY)
    assert just_after.starts_at == utc(2026, 4, 30, 14) == just_before.resets_at
    assert just_after.resets_at == utc(2026, 5, 31, 14)


def test_december_resets_into_january_of_the_next_year() -> None:
    month = domain.month_of(utc(2026, 12, 31, 12), SYDNEY)  # 31 Dec 23:00 +11
    assert month.starts_at == utc(2026, 11, 30, 13)
    assert month.resets_at == utc(2026, 12, 31, 13)
    # An hour later it is 1 January in Sydney: the new month.
    assert domain.month_of(utc(2026, 12, 31, 13), SYDNEY).starts_at == utc(2026, 12, 31, 13)


def test_february_in_a_leap_year_ends_after_the_29th() -> None:
    month = domain.month_of(utc(2028, 2, 10), ZoneInfo("UTC"))
    assert (month.starts_at, month.resets_at) == (utc(2028, 2, 1), utc(2028, 3, 1))


def test_an_unknown_or_missing_zone_counts_in_utc() -> None:
    assert zone_or_utc(None) is UTC
    assert zone_or_utc("Not/AZone") is UTC
    assert zone_or_utc("Australia/Sydney") == SYDNEY


def test_what_is_left_never_goes_below_zero_and_no_limit_leaves_none() -> None:
    assert domain.remaining(500, 460) == 40
    assert domain.remaining(500, 700) == 0
    assert domain.remaining(None, 700) is None


def test_a_hold_that_fits_in_what_is_left_passes_exactly_at_the_limit() -> None:
    domain.check_hold(500, 440, 60, "Ben")
    domain.check_hold(None, 10**9, 60, "Ben")


def test_a_hold_beyond_what_is_left_is_refused_saying_what_is_left() -> None:
    with pytest.raises(domain.MonthlyLimitReached) as refused:
        domain.check_hold(500, 460, 60, "Ben")
    assert refused.value.detail == "Ben has 40 of their 500 credits left this month; this message needs 60."
    assert refused.value.slug == "monthly-limit-reached"
    assert refused.value.errors and refused.value.errors[0]["remaining"] == 40


def test_a_refusal_for_someone_the_ledger_has_no_name_for_says_this_user() -> None:
    with pytest.raises(domain.MonthlyLimitReached, match=r"^This user has 0 of their 5 credits"):
        domain.check_hold(5, 9, 1, None)


@pytest.mark.parametrize("limit", [1, 500, 10_000_000, None])
def test_a_limit_from_one_to_ten_million_or_none_is_valid(limit: int | None) -> None:
    domain.check_limit(limit)


@pytest.mark.parametrize("limit", [0, -5, 10_000_001])
def test_a_limit_outside_one_to_ten_million_is_refused(limit: int) -> None:
    with pytest.raises(domain.LimitInvalid):
        domain.check_limit(limit)


def test_masters_users_who_manage_credits_and_the_gateway_set_limits_plain_users_do_not() -> None:
    tenant, person = uuid.uuid4(), uuid.uuid4()
    assert domain.require_may_set(Identity("master", tenant, uuid.uuid4())) == tenant
    assert domain.require_may_set(Identity("user", tenant, uuid.uuid4(), manage_credits=True)) == tenant
    assert domain.require_may_set(Identity("service", tenant)) == tenant
    with pytest.raises(domain.LimitsForbidden):
        domain.require_may_set(Identity("user", tenant, person))
    with pytest.raises(domain.LimitsForbidden):  # not even their own
        domain.require_may_set(Identity("user", tenant, person, send_sms=True))
    assert domain.require_may_see(Identity("user", tenant, person), person) == tenant
    with pytest.raises(domain.LimitsForbidden):
        domain.require_may_see(Identity("user", tenant, person), uuid.uuid4())


def test_the_month_clock_shifts_the_moment() -> None:
    clock = LedgerClock(offset=timedelta(days=31))
    moment = utc(2026, 1, 20)
    assert clock.at(moment) == utc(2026, 2, 20)
