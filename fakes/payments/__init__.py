"""The test payment processor: a stand-in that keeps its own records (checkout sessions, charges, a
vault of saved cards, refunds), "charges" the well-known test cards and tells billing the outcome by
signed webhook, over HTTP, re-sending until acknowledged.

It runs inside the billing process and database only for convenience, with tables of its own
(`migrations/`, applied only where it runs); it talks to billing the way a real processor would, so
that billing's webhook path is the one production uses.
"""

from __future__ import annotations

from pathlib import Path

MIGRATIONS = Path(__file__).parent / "migrations"
