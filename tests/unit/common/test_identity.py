import time
import uuid

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
