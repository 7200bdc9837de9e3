"""Destination pricing: a number's country, and what a segment to it costs by the table."""

from __future__ import annotations

import pytest

from common import destinations

RATES = {"AU": 1, "NZ": 2, "*": 3}


@pytest.mark.parametrize(("number", "region", "rate"), [
    ("+61412345678", "AU", 1), ("+6421234567", "NZ", 2), ("+447400123456", "GB", 3), ("+12025550123", "US", 3),
])
def test_a_recipient_is_priced_by_its_country_and_others_by_the_default(number: str, region: str, rate: int) -> None:
    assert (destinations.region_of(number), destinations.credits_per_segment(number, RATES)) == (region, rate)


def test_a_message_is_priced_recipient_by_recipient_in_their_order() -> None:
    assert destinations.price(["+6421234567", "+61412345678"], RATES) == [2, 1]
