"""What the command line chose, beside the mode."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Options:
    tenants: int = 1  # the seeded users spread over this many tenants (transfers stay within one)
