"""The gateway reuses a signed identity token for the same identity during the first half of its life."""

from __future__ import annotations

import uuid

import pytest

from common.identity import Identity, verify_internal_token
from gateway.clients import base as clients

SECRET = "s" * 40


def _client() -> clients.ServiceClient:
    return clients.ServiceClient("ledger", "http://127.0.0.1:1", SECRET, session=None, timeout=1)  # type: ignore[arg-type]


def test_a_token_is_reused_for_the_same_identity_until_half_its_life_has_passed(monkeypatch: pytest.MonkeyPatch):
    now = [100.0]
    monkeypatch.setattr(clients.time, "monotonic", lambda: now[0])
    client = _client()
    ben = Identity(role="user", tenant_id=uuid.uuid4(), user_id=uuid.uuid4())
    cleo = Identity(role="user", tenant_id=ben.tenant_id, user_id=uuid.uuid4())
    first = client._token(ben)
    assert client._token(ben) == first
    assert client._token(cleo) != first
    assert verify_internal_token(client._token(cleo), SECRET, "ledger") == cleo
    now[0] += clients.INTERNAL_TOKEN_TTL / 2 + 0.1
    renewed = client._token(ben)
    assert verify_internal_token(renewed, SECRET, "ledger") == ben
    # A changed fact is a different identity, never an old token.
    promoted = Identity(role="master", tenant_id=ben.tenant_id, user_id=ben.user_id)
    assert verify_internal_token(client._token(promoted), SECRET, "ledger") == promoted
