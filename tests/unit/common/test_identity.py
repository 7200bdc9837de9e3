import contextlib
import time
import uuid
from typing import Any

import jwt
import pytest

from common.identity import Identity, InvalidInternalToken, issue_internal_token, verify_internal_token

SECRET = "s" * 40


def test_identity_survives_the_round_trip():
    identity = Identity(role="master", tenant_id=uuid.uuid4(), user_id=uuid.uuid4(), team="Sales",
                        send_sms=True, manage_credits=False, credit_mode="individual")
    assert verify_internal_token(issue_internal_token(identity, SECRET, "ledger"), SECRET, "ledger") == identity


def test_token_for_another_service_is_refused():
    token = issue_internal_token(Identity(role="user"), SECRET, "billing")
    with pytest.raises(InvalidInternalToken):
        verify_internal_token(token, SECRET, "ledger")


def test_token_signed_with_another_secret_is_refused():
    token = issue_internal_token(Identity(role="user"), "x" * 40, "ledger")
    with pytest.raises(InvalidInternalToken):
        verify_internal_token(token, SECRET, "ledger")


def test_expired_token_is_refused():
    token = issue_internal_token(Identity(role="user"), SECRET, "ledger", ttl=-5)
    with pytest.raises(InvalidInternalToken):
        verify_internal_token(token, SECRET, "ledger")


def test_unsigned_alg_none_token_is_refused():
    now = int(time.time())
    claims = {"role": "master", "aud": "ledger", "iss": "sms-credits-gateway", "iat": now, "exp": now + 60}
    token = jwt.encode(claims, key="", algorithm="none")
    with pytest.raises(InvalidInternalToken):
        verify_internal_token(token, SECRET, "ledger")


def test_a_verified_token_is_served_from_the_cache_only_until_it_expires(monkeypatch: pytest.MonkeyPatch):
    identity = Identity(role="user", tenant_id=uuid.uuid4(), user_id=uuid.uuid4())
    token = issue_internal_token(identity, SECRET, "ledger", ttl=60)
    assert verify_internal_token(token, SECRET, "ledger") == identity
    decoded: list[str] = []
    real_decode = jwt.decode

    def counting_decode(*args: Any, **kwargs: Any) -> Any:
        decoded.append(args[0])
        return real_decode(*args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counting_decode)
    assert verify_internal_token(token, SECRET, "ledger") == identity
    assert decoded == []  # the second call did not decode again

    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)
    with contextlib.suppress(InvalidInternalToken):  # PyJWT's own clock decides whether it has expired
        verify_internal_token(token, SECRET, "ledger")
    assert decoded == [token]  # past its exp the cache no longer answers: the token is checked again


def test_the_cache_never_answers_for_another_audience_secret_or_a_changed_token():
    token = issue_internal_token(Identity(role="master", tenant_id=uuid.uuid4()), SECRET, "ledger")
    verify_internal_token(token, SECRET, "ledger")
    with pytest.raises(InvalidInternalToken):
        verify_internal_token(token, SECRET, "billing")
    with pytest.raises(InvalidInternalToken):
        verify_internal_token(token, "x" * 40, "ledger")
    header, payload, signature = token.split(".")
    tampered = ".".join((header, payload, signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")))
    with pytest.raises(InvalidInternalToken):
        verify_internal_token(tampered, SECRET, "ledger")
