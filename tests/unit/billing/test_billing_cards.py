from __future__ import annotations

from datetime import date

import pytest

from common.web import status_of
from fakes.payments.cards import CardDetails, CardRejected, card_brand, charge_outcome, check_card, luhn_valid

TODAY = date(2026, 11, 26)


@pytest.mark.parametrize(
    "number", ["4242424242424242", "4000000000000002", "5555555555554444", "378282246310005", "6011111111111117"]
)
def test_well_known_card_numbers_pass_luhn(number: str) -> None:
    assert luhn_valid(number)


@pytest.mark.parametrize(
    "number", ["4242424242424241", "1234567890123456", "4242", "42424242424242424242", "4242abcd42424242", ""]
)
def test_a_wrong_check_digit_or_length_or_character_fails_luhn(number: str) -> None:
    assert not luhn_valid(number)


@pytest.mark.parametrize(
    ("number", "brand"),
    [
        ("4242424242424242", "visa"), ("5555555555554444", "mastercard"), ("2223003122003222", "mastercard"),
        ("378282246310005", "amex"), ("341111111111111", "amex"), ("6011111111111117", "discover"),
        ("3566002020360505", "jcb"), ("36227206271667", "diners"), ("6200000000000005", "unionpay"),
        ("9999999999999995", "card"),
    ],
)
def test_the_brand_is_told_by_the_number_prefix(number: str, brand: str) -> None:
    assert card_brand(number) == brand


def test_a_good_card_is_reduced_to_brand_and_last_four() -> None:
    summary = check_card("4242 4242 4242 4242", 12, 2030, "123", TODAY)
    assert (summary.brand, summary.last4) == ("visa", "4242")


def test_a_card_expiring_this_month_is_accepted_and_last_month_is_refused() -> None:
    assert check_card("4242424242424242", 11, 2026, "123", TODAY)
    assert check_card("4242424242424242", 11, 26, "123", TODAY)  # two-digit year
    with pytest.raises(CardRejected) as refused:
        check_card("4242424242424242", 10, 2026, "123", TODAY)
    assert refused.value.errors == [{"field": "exp_year", "message": "The card has expired."}]


def test_every_problem_is_reported_per_field_at_once() -> None:
    with pytest.raises(CardRejected) as refused:
        check_card("4242424242424241", 13, 2030, "12", TODAY)
    assert status_of(refused.value) == 422
    assert [e["field"] for e in refused.value.errors or []] == ["card_number", "exp_month", "cvc"]


@pytest.mark.parametrize(
    ("number", "good", "bad"), [("378282246310005", "1234", "123"), ("4242424242424242", "123", "1234")]
)
def test_amex_needs_four_cvc_digits_and_other_brands_three(number: str, good: str, bad: str) -> None:
    assert check_card(number, 12, 2030, good, TODAY)
    with pytest.raises(CardRejected):
        check_card(number, 12, 2030, bad, TODAY)
    with pytest.raises(CardRejected):
        check_card(number, 12, 2030, "12a"[: len(good)], TODAY)


def test_card_details_never_show_the_number_when_printed() -> None:
    details = CardDetails("4242424242424242", 12, 2030, "123", "Jo")
    assert "4242424242424242" not in repr(details)
    assert "123" not in repr(details).replace("4242", "")


@pytest.mark.parametrize(
    ("number", "succeeded", "failure_code"),
    [
        ("4242424242424242", True, None),
        ("4000000000000002", False, "card_declined"),
        ("4000000000009995", False, "insufficient_funds"),
        ("5555555555554444", True, None),
    ],
)
def test_the_test_provider_declines_only_its_reserved_numbers(
    number: str, succeeded: bool, failure_code: str | None
) -> None:
    outcome = charge_outcome(number)
    assert (outcome.succeeded, outcome.failure_code) == (succeeded, failure_code)
