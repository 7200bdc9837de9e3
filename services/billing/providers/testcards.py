"""The test provider's card outcomes, the well-known test numbers of real processors."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChargeOutcome:
    succeeded: bool
    failure_code: str | None = None
    # What happens later to the card once saved, and to a refund of this charge.
    saved_card_decline_code: str | None = None
    refund_fails: bool = False


_DECLINES = {
    "4000000000000002": "card_declined",
    "4000000000009995": "insufficient_funds",
}
# As on Stripe: pays now, but every later charge of the saved card is declined.
_SAVED_CARD_DECLINES = {"4000000000000341": "card_declined"}
# As on Stripe: pays now, but a refund of the payment fails.
_REFUND_FAILURES = frozenset({"4000000000005126"})


def charge_outcome(card_number: str) -> ChargeOutcome:
    """Every valid card succeeds except the numbers reserved for declines."""
    failure_code = _DECLINES.get(card_number)
    return ChargeOutcome(
        succeeded=failure_code is None,
        failure_code=failure_code,
        saved_card_decline_code=_SAVED_CARD_DECLINES.get(card_number),
        refund_fails=card_number in _REFUND_FAILURES,
    )
