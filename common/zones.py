"""A tenant's time zone by its IANA name, as the directory announced it."""

from __future__ import annotations

from datetime import UTC, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def zone_or_utc(name: str | None) -> tzinfo:
    """The zone; one never named (or that this machine does not know) counts in UTC, so a day or a month
    is always somewhere rather than an error in a consumer."""
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC
