"""What an SMS segment costs by where it goes (destination pricing), shared by the gateway, which holds
the credits, and messaging, which checks the hold pays for what it sends: both price with this.

A destination is the recipient's country as `phonenumbers` knows it (ISO 3166 alpha-2: AU, NZ, ...);
a table names the credits per segment of the countries it prices and a default for every other one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import phonenumbers

DEFAULT = "*"  # the table's entry for every country it does not name
UNKNOWN = "ZZ"  # phonenumbers' region for a number of no country (satellite, international networks)


def region_of(number: str) -> str:
    """The country of an E.164 number."""
    return phonenumbers.region_code_for_number(phonenumbers.parse(number, None)) or UNKNOWN


def credits_per_segment(number: str, rates: Mapping[str, int]) -> int:
    return rates.get(region_of(number), rates[DEFAULT])


def price(recipients: Sequence[str], rates: Mapping[str, int]) -> list[int]:
    """Each recipient's credits per segment, in their order (a message costs segments x their sum)."""
    return [credits_per_segment(number, rates) for number in recipients]
