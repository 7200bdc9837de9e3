"""The conditions a person agrees to when transferring credits. The version recorded on every
transfer is this one, so the text shown and the version stored cannot drift apart: change both here."""

from __future__ import annotations

VERSION = "2026-11-01"
CONDITIONS = (
    "Credits move at once and are available to the receiving account straight away.",
    "A transfer cannot be undone; to return credits, make a transfer back.",
    "Credits have no cash value and are not refunded once transferred.",
    "The transfer is recorded in the 30-day log with your name.",
)
