"""Our Standard Webhooks signature, verified by the independent `standardwebhooks` package."""

from __future__ import annotations

import base64
import time
import uuid

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from services.webhooks.deliveries.domain import signature, webhook_headers
from services.webhooks.endpoints.domain import new_secret

BODY = b'{"specversion":"1.0","id":"e1","type":"com.smscredits.ledger.transaction.posted","data":{"x":"\xc3\xa9"}}'


def test_a_new_secret_is_whsec_and_base64_of_32_random_bytes():
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
    assert new_secret() != secret


def test_a_delivery_signed_with_one_secret_verifies():
    secret, webhook_id = new_secret(), str(uuid.uuid4())
    headers = webhook_headers([secret], webhook_id, int(time.time()), BODY)
    assert Webhook(secret).verify(BODY, headers) == {"specversion": "1.0", "id": "e1",
                                                     "type": "com.smscredits.ledger.transaction.posted",
                                                     "data": {"x": "é"}}
    assert headers["webhook-id"] == webhook_id and headers["Content-Type"] == "application/json"


def test_during_a_rotation_both_the_new_and_the_previous_secret_verify():
    new, previous = new_secret(), new_secret()
    headers = webhook_headers([new, previous], "msg_1", int(time.time()), BODY)
    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(new).verify(BODY, headers)
    Webhook(previous).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(BODY, headers)


def test_a_changed_body_id_or_timestamp_does_not_verify():
    secret, now = new_secret(), int(time.time())
    headers = webhook_headers([secret], "msg_1", now, BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace(b"e1", b"e2"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, {**headers, "webhook-id": "msg_2"})
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, {**headers, "webhook-timestamp": str(now - 1)})


def test_the_signature_is_the_documented_hmac():
    import hashlib
    import hmac

    key = b"\x01" * 32
    secret = "whsec_" + base64.b64encode(key).decode()
    expected = base64.b64encode(hmac.new(key, b"msg_1.1700000000." + BODY, hashlib.sha256).digest()).decode()
    assert signature([secret], "msg_1", 1700000000, BODY) == f"v1,{expected}"
