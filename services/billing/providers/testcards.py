"""The test provider's card outcomes, the well-known test numbers of real processors."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChargeOutcome:
    succeeded: bool
    failure_code: str | None = None


_DECLINES = {
    "4000000000000002": "card_declined",
    "4000000000009995": "insufficient_funds",
}


def charge_outcome(card_number: str) -> ChargeOutcome:
    """Every valid card succeeds except the numbers reserved for declines."""
    failure_code = _DECLINES.get(card_number)
    return ChargeOutcome(succeeded=failure_code is None, failure_code=failure_code)
