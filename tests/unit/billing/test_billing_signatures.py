from __future__ import annotations

import pytest

from common.web import status_of
from services.billing.payments.signatures import InvalidSignature, sign, verify

SECRET = "whsec_unit_0123456789abcdef"
BODY = b'{"id":"evt_1","type":"payment.succeeded"}'
NOW = 1_800_000_000


def test_a_signature_made_with_the_secret_verifies() -> None:
    verify(SECRET, sign(SECRET, BODY, NOW), BODY, now=NOW + 10)


def test_the_header_has_the_timestamp_and_a_hex_hmac() -> None:
    timestamp, v1 = sign(SECRET, BODY, NOW).split(",")
    assert timestamp == f"t={NOW}"
    assert v1.startswith("v1=") and len(v1) == 3 + 64


def test_a_tampered_body_is_refused() -> None:
    with pytest.raises(InvalidSignature):
        verify(SECRET, sign(SECRET, BODY, NOW), BODY.replace(b"succeeded", b"failed"), now=NOW)


def test_a_signature_made_with_another_secret_is_refused() -> None:
    with pytest.raises(InvalidSignature):
        verify(SECRET, sign("whsec_someone_else_entirely", BODY, NOW), BODY, now=NOW)


def test_a_changed_timestamp_breaks_the_signature() -> None:
    forged = sign(SECRET, BODY, NOW).replace(f"t={NOW}", f"t={NOW + 1}")
    with pytest.raises(InvalidSignature):
        verify(SECRET, forged, BODY, now=NOW)


@pytest.mark.parametrize("age", [301, -301, 3600])
def test_a_timestamp_more_than_five_minutes_away_is_refused(age: int) -> None:
    with pytest.raises(InvalidSignature):
        verify(SECRET, sign(SECRET, BODY, NOW - age), BODY, now=NOW)
    verify(SECRET, sign(SECRET, BODY, NOW - 300), BODY, now=NOW)


@pytest.mark.parametrize("header", [None, "", "v1=abc", "t=abc,v1=abc", f"t={NOW}", "garbage"])
def test_a_missing_or_malformed_header_is_refused_as_malformed(header: str | None) -> None:
    with pytest.raises(InvalidSignature) as refused:
        verify(SECRET, header, BODY, now=NOW)
    assert status_of(refused.value) == 400


def test_any_of_several_signatures_may_match_so_secrets_can_rotate() -> None:
    old = sign("whsec_old_secret_0123456789", BODY, NOW).split(",")[1]
    header = f"{sign(SECRET, BODY, NOW)},{old}"
    verify(SECRET, header, BODY, now=NOW)
    verify("whsec_old_secret_0123456789", header, BODY, now=NOW)
