"""The test processor's cards, pure: the checks a card must pass before it is "charged" (never keeping
the number), and what each of the well-known test numbers of real processors stands for.

Only the brand and the last four digits ever leave this module with the caller's card.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from common.contracts import problems
from common.problems import RuleBroken
from services.billing.payments.provider import CardSummary

# Prefix ranges per brand, checked in order; enough to label a card and to know Amex's 4-digit CVC.
_BRAND_RANGES: tuple[tuple[str, tuple[tuple[int, int], ...]], ...] = (
    ("amex", ((34, 34), (37, 37))),
    ("diners", ((300, 305), (36, 36), (38, 39))),
    ("jcb", ((3528, 3589),)),
    ("visa", ((4, 4),)),
    ("mastercard", ((51, 55), (2221, 2720))),
    ("discover", ((6011, 6011), (644, 649), (65, 65))),
    ("unionpay", ((62, 62),)),
)
_YEARS_AHEAD = 20


class CardRejected(RuleBroken):
    problem = problems.CARD_INVALID

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("The card details are not valid.", errors=errors)


@dataclass(frozen=True)
class CardDetails:
    """What the buyer typed; held in memory for the charge only."""

    number: str
    exp_month: int
    exp_year: int
    cvc: str
    name: str

    def __repr__(self) -> str:
        # A stray log line or traceback showing this object must not show the card.
        return f"CardDetails(last4={self.number[-4:]!r})"


def normalise_number(number: str) -> str:
    return number.replace(" ", "").replace("-", "")


def luhn_valid(number: str) -> bool:
    if not number.isdigit() or not 12 <= len(number) <= 19:
        return False
    total = 0
    for position, digit in enumerate(int(d) for d in reversed(number)):
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def card_brand(number: str) -> str:
    for brand, ranges in _BRAND_RANGES:
        for low, high in ranges:
            prefix = number[: len(str(low))]
            if prefix.isdigit() and low <= int(prefix) <= high:
                return brand
    return "card"


def full_year(year: int) -> int:
    return year + 2000 if 0 <= year < 100 else year


def _expiry_problem(exp_month: int, exp_year: int, today: date) -> str | None:
    if not 1 <= exp_month <= 12:
        return "Enter the expiry month (1-12)"
    year = full_year(exp_year)
    if (year, exp_month) < (today.year, today.month):
        return "The card has expired."
    if year > today.year + _YEARS_AHEAD:
        return "Check the expiry year."
    return None


def check_card(number: str, exp_month: int, exp_year: int, cvc: str, today: date) -> CardSummary:
    """Every problem at once, per field, so a form can show them all."""
    digits = normalise_number(number)
    errors = []
    if not luhn_valid(digits):
        errors.append({"field": "card_number", "message": "Check the card number: it is not a valid card number."})
    expiry = _expiry_problem(exp_month, exp_year, today)
    if expiry:
        field = "exp_month" if expiry.endswith("(1-12)") else "exp_year"
        errors.append({"field": field, "message": expiry})
    brand = card_brand(digits)
    cvc_length = 4 if brand == "amex" else 3
    if not (cvc.isdigit() and len(cvc) == cvc_length):
        errors.append({"field": "cvc", "message": f"Enter the {cvc_length}-digit security code (CVC)"})
    if errors:
        raise CardRejected(errors)
    return CardSummary(brand=brand, last4=digits[-4:])


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
