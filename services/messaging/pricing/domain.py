"""Destination pricing's rules, pure and synchronous: what a valid table is, and who may change it."""

from __future__ import annotations

from collections.abc import Mapping

import phonenumbers

from common.contracts import problems
from common.destinations import DEFAULT
from common.problems import RuleBroken

MAX_RATE = 100


class RatesInvalid(RuleBroken):
    problem = problems.DESTINATION_RATES_INVALID


def check_rates(rates: Mapping[str, int]) -> dict[str, int]:
    """A whole table: countries phonenumbers knows, each 1 to 100 credits a segment, and a default (`*`)."""
    errors = []
    known = phonenumbers.SUPPORTED_REGIONS
    for region, credits in rates.items():
        if region != DEFAULT and region not in known:
            errors.append({"field": f"rates.{region}", "message": "Not a country code (AU, NZ, GB, ...)."})
        elif not 1 <= credits <= MAX_RATE:
            errors.append({"field": f"rates.{region}", "message": f"From 1 to {MAX_RATE} credits a segment."})
    if DEFAULT not in rates:
        errors.append({"field": "rates.*", "message": "Give a default (`*`) for every other country."})
    if errors:
        raise RatesInvalid("The destination rates are not valid.", errors=errors)
    return dict(rates)
