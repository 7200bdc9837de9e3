"""The usage chart: daily totals in the tenant's days, and the SVG drawn from them."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from services.reporting.usage.chart import usage_svg
from services.reporting.usage.domain import Bucket, DailyUsage, daily_usage, period

SYDNEY = ZoneInfo("Australia/Sydney")
KOLKATA = ZoneInfo("Asia/Kolkata")
SVG = "{http://www.w3.org/2000/svg}"


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 (our own builder's output, not outside input)


def test_the_period_is_the_tenants_last_days_from_local_midnight():
    # 20:00 UTC on 6 December is 07:00 on 7 December in Sydney (UTC+11 in summer).
    now = datetime(2026, 12, 6, 20, 0, tzinfo=UTC)
    wanted = period(now, SYDNEY, 30)
    assert wanted.days[-1] == date(2026, 12, 7)
    assert wanted.days[0] == date(2026, 11, 8)
    assert len(wanted.days) == 30
    assert wanted.since == datetime(2026, 11, 7, 13, 0, tzinfo=UTC)  # midnight of 8 November in Sydney


def test_a_bucket_counts_on_the_day_it_fell_in_the_tenants_zone():
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    wanted = period(now, KOLKATA, 3)  # UTC+5:30: a half-hour offset
    buckets = [
        # 18:15 UTC on 5 December is 23:45 on the 5th in Kolkata; 18:30 UTC is 00:00 on the 6th.
        Bucket(datetime(2026, 12, 5, 18, 15, tzinfo=UTC), 10, 1),
        Bucket(datetime(2026, 12, 5, 18, 30, tzinfo=UTC), 20, 2),
        Bucket(datetime(2026, 12, 6, 18, 45, tzinfo=UTC), 0, 4),  # 00:15 on the 7th
        Bucket(datetime(2026, 12, 7, 2, 0, tzinfo=UTC), 5, 0),  # 07:30 on the 7th
        Bucket(datetime(2026, 12, 1, 0, 0, tzinfo=UTC), 999, 999),  # before the period: left out
    ]
    assert daily_usage(buckets, KOLKATA, wanted) == [
        DailyUsage(date(2026, 12, 5), 10, 1),
        DailyUsage(date(2026, 12, 6), 20, 2),
        DailyUsage(date(2026, 12, 7), 5, 4),
    ]


def test_days_without_movement_are_zeros_and_in_order():
    wanted = period(datetime(2026, 12, 7, 12, 0, tzinfo=UTC), UTC, 30)
    days = daily_usage([], UTC, wanted)
    assert [d.day for d in days] == [date(2026, 12, 7) - timedelta(days=29 - n) for n in range(30)]
    assert all(d.credits_in == 0 and d.credits_out == 0 for d in days)


def _days(values: list[tuple[int, int]]) -> list[DailyUsage]:
    first = date(2026, 11, 8)
    return [DailyUsage(first + timedelta(days=n), i, o) for n, (i, o) in enumerate(values)]


def test_the_chart_has_two_bars_a_day_scaled_to_the_largest():
    values = [(0, 0)] * 28 + [(500, 120), (0, 1000)]
    svg = usage_svg(_days(values))
    root = _parse(svg)
    groups = root.findall(f".//{SVG}g[@class='usage-day']")
    assert len(groups) == 30
    assert [(g.get("data-in"), g.get("data-out")) for g in groups[-2:]] == [("500", "120"), ("0", "1000")]
    heights = {
        (g.get("data-date"), r.get("class")): float(r.get("height") or 0)
        for g in groups
        for r in g.findall(f"{SVG}rect")
    }
    tallest = heights[("2026-12-07", "usage-out")]
    assert tallest > 0
    assert heights[("2026-12-06", "usage-in")] == round(tallest / 2, 1)
    assert heights[("2026-11-08", "usage-in")] == 0
    # Axis labels: 0, half and the top; dates a week apart, ending today.
    assert [t.text for t in root.findall(f".//{SVG}text[@class='usage-tick']")] == ["0", "500", "1,000"]
    dates = [t.text for t in root.findall(f".//{SVG}text[@class='usage-date']")]
    assert dates == ["Nov 9", "Nov 16", "Nov 23", "Nov 30", "Dec 7"]


def test_the_chart_is_named_for_screen_readers():
    svg = usage_svg(_days([(3, 2)] * 30), element_id="c")
    root = _parse(svg)
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "c-title c-desc"
    assert root.findtext(f"{SVG}title") == "Credits in and out per day, last 30 days"
    assert root.findtext(f"{SVG}desc") == (
        "From 2026-11-08 to 2026-12-07: 90 credits in (90 purchased, 0 promotional) and 60 credits out "
        "(0 of them expired)."
    )
    assert "<script" not in svg and "href=\"http" not in svg


def test_an_empty_period_says_so_instead_of_drawing_bars():
    root = _parse(usage_svg(_days([(0, 0)] * 30)))
    assert root.findall(f".//{SVG}g[@class='usage-day']") == []
    empty = root.find(f".//{SVG}text[@class='usage-empty']")
    assert empty is not None and empty.text == "No credits moved in the last 30 days"


def test_ticks_are_round_numbers_above_the_largest_day():
    svg = usage_svg(_days([(7, 0)] * 29 + [(1234, 0)]))
    assert re.findall(r'class="usage-tick"[^>]*>([^<]+)<', svg) == ["0", "1,000", "2,000"]
