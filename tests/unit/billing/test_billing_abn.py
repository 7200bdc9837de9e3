"""The ABN on billing details passes the ATO's modulus 89 check, or the purchase is refused (422) with a
message a person understands."""

from __future__ import annotations

import uuid

import pytest

from common.contracts.billing import ABN_NOT_VALID, AbnNotValid, BillingDetails, abn_checksum_holds, written_abn
from common.web import status_of
from gateway.schemas.credits import PurchaseRequest


@pytest.mark.parametrize("abn", ["51824753556", "53004085616", "33102417032", "83914571673"])
def test_real_abns_pass_the_modulus_89_rule(abn: str) -> None:
    assert abn_checksum_holds(abn)


@pytest.mark.parametrize("abn", [
    "12345678901",  # the made-up one the review typed
    "51824753557",  # one digit off
    "15824753556",  # two digits swapped
    "5182475355",  # ten digits
    "518247535560",  # twelve
    "5182475355a",
    "٥١٨٢٤٧٥٣٥٥٦",  # digits, but not ASCII ones
])
def test_other_digits_fail_it(abn: str) -> None:
    assert not abn_checksum_holds(abn)


def test_an_abn_is_written_with_its_usual_spaces_whatever_blanks_were_typed() -> None:
    assert written_abn("51 824 753 556") == "51 824 753 556"
    assert written_abn("51824753556") == "51 824 753 556"
    assert written_abn(" 5182 4753 556\t") == "51 824 753 556"


def test_billing_details_keep_a_valid_abn_and_refuse_a_made_up_one_as_a_broken_rule() -> None:
    details = BillingDetails(name="Jo", email="jo@example.com", tax_id="51824753556")
    assert details.tax_id == "51 824 753 556"
    assert BillingDetails(name="Jo", email="jo@example.com", tax_id="").tax_id == ""  # none given: still fine
    assert BillingDetails(name="Jo", email="jo@example.com").tax_id is None

    with pytest.raises(AbnNotValid) as refused:
        BillingDetails(name="Jo", email="jo@example.com", tax_id="12 345 678 901")
    assert status_of(refused.value) == 422
    assert refused.value.detail == "This ABN is not valid (check the digits)."
    assert refused.value.errors == [{"field": "billing.tax_id", "message": ABN_NOT_VALID}]


def test_the_public_purchase_request_refuses_it_the_same_way() -> None:
    body = {"account_id": str(uuid.uuid4()), "quantity": 500,
            "billing": {"name": "Jo", "email": "jo@example.com", "tax_id": "12 345 678 901"}}
    with pytest.raises(AbnNotValid):
        PurchaseRequest.model_validate(body)
    body["billing"]["tax_id"] = "51 824 753 556"  # type: ignore[index]
    assert PurchaseRequest.model_validate(body).billing.tax_id == "51 824 753 556"
