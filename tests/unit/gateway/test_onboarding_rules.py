"""The rules of onboarding, without I/O: ABNs, time zones, password links and when one may be used."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from gateway.directory.onboarding import (
    PasswordLink,
    PasswordLinkInvalid,
    australian_business_number,
    iana_time_zone,
    link_expiry,
    link_key,
    link_token,
    require_usable,
    token_hash,
)

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize("given", ["53004085616", "53 004 085 616", "530 040 856 16"])
def test_an_abn_is_checked_and_written_as_an_abn_is_written(given: str):
    assert australian_business_number(given) == "53 004 085 616"


@pytest.mark.parametrize("given", ["53004085617", "5300408561", "ABN 53004085616", ""])
def test_an_abn_with_a_wrong_check_digit_or_length_is_refused(given: str):
    with pytest.raises(ValueError):
        australian_business_number(given)


@pytest.mark.parametrize("given", ["Australia/Sydney", "Australia/Perth", "UTC", "Pacific/Auckland"])
def test_real_iana_zones_are_taken(given: str):
    assert iana_time_zone(given) == given


@pytest.mark.parametrize("given", ["Australia/Atlantis", "sydney", "../../etc/passwd", "/etc/localtime", "+10:00"])
def test_anything_else_is_not_a_time_zone(given: str):
    with pytest.raises(ValueError):
        iana_time_zone(given)


def test_a_links_token_is_the_same_for_its_id_and_key_and_unlike_any_other():
    key, other_key = link_key("a" * 40), link_key("b" * 40)
    token_id = uuid.uuid4()
    assert link_token(key, token_id) == link_token(key, token_id)
    assert link_token(key, token_id) != link_token(other_key, token_id)
    assert link_token(key, token_id) != link_token(key, uuid.uuid4())
    assert len(link_token(key, token_id)) == 43  # 256 bits, URL-safe, unpadded
    assert token_hash(link_token(key, token_id)) != link_token(key, token_id).encode()


def test_an_invitation_lasts_a_week_and_a_reset_an_hour():
    assert link_expiry("invitation", NOW) - NOW == timedelta(days=7)
    assert link_expiry("reset", NOW) - NOW == timedelta(hours=1)


def _link(**changes: object) -> PasswordLink:
    values: dict[str, object] = {"id": uuid.uuid4(), "user_id": uuid.uuid4(), "purpose": "reset",
                                 "expires_at": NOW + timedelta(minutes=5), "used_at": None, **changes}
    return PasswordLink(**values)  # type: ignore[arg-type]


def test_a_link_is_usable_once_before_it_expires_by_an_active_person():
    link = _link()
    assert require_usable(link, True, NOW) is link
    for unusable, active, words in (
        (None, True, "not valid"),
        (link, False, "not valid"),
        (_link(used_at=NOW - timedelta(minutes=1)), True, "already used"),
        (_link(expires_at=NOW), True, "expired"),
    ):
        with pytest.raises(PasswordLinkInvalid, match=words):
            require_usable(unusable, active, NOW)
