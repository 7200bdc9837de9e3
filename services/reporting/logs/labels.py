"""What people read instead of codes: times in the tenant's time zone, words for kinds and directions.
Pure and synchronous; the CSV and the report share it (names come from the directory replica)."""

from __future__ import annotations

from datetime import datetime, tzinfo

_KIND_LABELS = {
    "purchase": "Purchase",
    "transfer": "Transfer",
    "hold": "Hold",
    "capture": "Capture",
    "void": "Void",
    "expiry": "Expiry",
    "mode_change": "Credit mode change",
    "refund": "Refund",
    "grant": "Promotional grant",
    "lot_expiry": "Credits expired",
    "delivery_refund": "Undelivered SMS refund",
}
_DIRECTION_LABELS = {"in": "In", "out": "Out"}


def local_time(moment: datetime, zone: tzinfo) -> str:
    """`2026-11-26 14:05:09 +11:00`: seconds, and the offset, so the text is one unambiguous instant."""
    text = moment.astimezone(zone).isoformat(sep=" ", timespec="seconds")  # "2026-11-26 14:05:09+11:00"
    return f"{text[:19]} {text[19:]}"


def local_date(moment: datetime, zone: tzinfo) -> str:
    return f"{moment.astimezone(zone):%Y-%m-%d}"


def kind_label(kind: str) -> str:
    return _KIND_LABELS.get(kind, kind.replace("_", " ").capitalize())


def direction_label(direction: str) -> str:
    return _DIRECTION_LABELS.get(direction, direction)
