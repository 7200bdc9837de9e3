"""Sessions for web and mobile clients: a refresh token beside the access token, rotating on every use, a
reused one ending the whole session; signing out; the device list; deactivation ending every session;
401s that say why, with a `WWW-Authenticate` challenge."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator

import pytest

from common.db import connect
from gateway.seed import PEOPLE
from gateway.web.auth import issue_access_token
from tests.conftest import Infra, NewDatabase
from tests.integration.gateway.auth_support import Gateway, claims_of, running_gateway

BEN = next(p for p in PEOPLE if p.email == "ben@acme.test")
CLEO = next(p for p in PEOPLE if p.email == "cleo@acme.test")


@pytest.fixture
async def gateway(infra: Infra, new_database: NewDatabase, exchange_name: str) -> AsyncIterator[Gateway]:
    async with running_gateway(infra, new_database, exchange_name) as running:
        yield running


async def _session_rows(gateway: Gateway) -> list[dict]:
    conn = await connect(gateway.dsn)
    try:
        return [dict(r) for r in await conn.fetch("SELECT * FROM sessions ORDER BY created_at")]
    finally:
        await conn.close()


def _type(problem: dict) -> str:
    return str(problem["type"]).rsplit("/", 1)[-1]


async def test_sign_in_answers_a_refresh_token_kept_only_as_its_hash_and_an_access_token_naming_the_session(
        gateway: Gateway):
    tokens = await gateway.tokens("ben@acme.test", user_agent="Phone app 1.0")
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 900
    assert tokens["refresh_token_expires_in"] == 30 * 86400
    [row] = await _session_rows(gateway)
    assert claims_of(tokens["access_token"])["sid"] == str(row["id"])
    assert claims_of(tokens["access_token"])["exp"] - claims_of(tokens["access_token"])["iat"] == 900
    assert row["person_id"] == BEN.id and row["user_agent"] == "Phone app 1.0" and row["revoked_at"] is None
    assert bytes(row["refresh_hash"]) == hashlib.sha256(tokens["refresh_token"].encode()).digest()
    assert tokens["refresh_token"].encode() not in repr(row).encode()
    status, _, me = await gateway.get("/me", tokens["access_token"])
    assert status == 200 and me["email"] == "ben@acme.test"


async def test_a_refresh_token_works_once_and_hands_out_the_next_pair(gateway: Gateway):
    first = await gateway.tokens("ben@acme.test")
    status, _, second = await gateway.refresh(first["refresh_token"])
    assert status == 200, second
    assert second["refresh_token"] != first["refresh_token"] and second["access_token"] != first["access_token"]
    assert claims_of(second["access_token"])["sid"] == claims_of(first["access_token"])["sid"]
    assert (await gateway.get("/me", second["access_token"]))[0] == 200
    status, _, third = await gateway.refresh(second["refresh_token"])
    assert status == 200, third
    [row] = await _session_rows(gateway)
    assert row["generation"] == 3 and row["last_used_at"] > row["created_at"]


async def _backdate_rotations(gateway: Gateway, seconds: int) -> None:
    conn = await connect(gateway.dsn)
    try:
        await conn.execute("UPDATE sessions SET rotated_at = rotated_at - make_interval(secs => $1)", seconds)
    finally:
        await conn.close()


async def test_reusing_a_rotated_refresh_token_ends_the_whole_session(gateway: Gateway):
    first = await gateway.tokens("ben@acme.test")
    _, _, second = await gateway.refresh(first["refresh_token"])
    other = await gateway.tokens("ben@acme.test")  # another device of Ben's: untouched
    await _backdate_rotations(gateway, 31)  # past the grace for a lost answer (the next test)

    status, headers, problem = await gateway.refresh(first["refresh_token"])  # a copy of the used one
    assert status == 401 and _type(problem) == "unauthenticated"
    assert "already used" in problem["detail"]
    assert headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    # The whole family is gone: the newest refresh token and the access tokens of the session too.
    assert (await gateway.refresh(second["refresh_token"]))[0] == 401
    assert (await gateway.get("/me", second["access_token"]))[0] == 401
    assert (await gateway.get("/me", first["access_token"]))[0] == 401
    assert (await gateway.get("/me", other["access_token"]))[0] == 200
    revoked = [r["revoked_because"] for r in await _session_rows(gateway)]
    assert revoked == ["reused", None]


async def test_a_token_sent_again_just_after_its_answer_was_lost_renews_once_more_and_no_older_one_does(
    gateway: Gateway,
):
    first = await gateway.tokens("ben@acme.test")
    _, _, lost = await gateway.refresh(first["refresh_token"])  # the client never got this answer
    # It sends the same token again within the grace (30 s): not a stolen copy, the session goes on.
    status, _, again = await gateway.refresh(first["refresh_token"])
    assert status == 200, again
    assert again["refresh_token"] not in (first["refresh_token"], lost["refresh_token"])
    assert (await gateway.get("/me", again["access_token"]))[0] == 200
    [row] = await _session_rows(gateway)
    assert (row["generation"], row["revoked_at"]) == (3, None)
    # Forgiven once: the answer it just got forgives nothing before it, so a copy of either earlier token
    # cannot keep a second branch of the session alive; sending one ends the session.
    status, _, problem = await gateway.refresh(lost["refresh_token"])
    assert status == 401 and "already used" in problem["detail"]
    assert (await gateway.refresh(again["refresh_token"]))[0] == 401
    [row] = await _session_rows(gateway)
    assert row["revoked_because"] == "reused"


async def test_a_token_two_rotations_old_is_a_reuse_even_within_the_grace(gateway: Gateway):
    first = await gateway.tokens("ben@acme.test")
    _, _, second = await gateway.refresh(first["refresh_token"])
    _, _, third = await gateway.refresh(second["refresh_token"])
    status, _, problem = await gateway.refresh(first["refresh_token"])
    assert status == 401 and "already used" in problem["detail"]
    assert (await gateway.refresh(third["refresh_token"]))[0] == 401


async def test_signing_out_with_the_token_just_replaced_ends_the_session_as_a_sign_out(gateway: Gateway):
    first = await gateway.tokens("ben@acme.test")
    _, _, second = await gateway.refresh(first["refresh_token"])  # its answer lost: the app still has `first`
    response = await gateway.client.post("/api/v1/auth/logout", json={"refresh_token": first["refresh_token"]})
    assert response.status == 204
    assert (await gateway.refresh(second["refresh_token"]))[0] == 401
    [row] = await _session_rows(gateway)
    assert row["revoked_because"] == "signed-out"


async def test_a_token_sent_again_after_the_grace_ends_the_session(gateway: Gateway):
    first = await gateway.tokens("ben@acme.test")
    _, _, second = await gateway.refresh(first["refresh_token"])
    await _backdate_rotations(gateway, 31)
    assert (await gateway.refresh(first["refresh_token"]))[0] == 401
    assert (await gateway.refresh(second["refresh_token"]))[0] == 401
    [row] = await _session_rows(gateway)
    assert row["revoked_because"] == "reused"


async def test_refresh_with_a_token_never_issued_or_malformed_is_refused_and_changes_nothing(gateway: Gateway):
    tokens = await gateway.tokens("ben@acme.test")
    sid = uuid.UUID(claims_of(tokens["access_token"])["sid"])
    forged = f"{sid.hex}.1.{'A' * 43}"  # the current generation, a wrong secret
    for token in ("nonsense", forged, f"{uuid.uuid4().hex}.1.{'A' * 43}", tokens["refresh_token"] + "x"):
        status, headers, problem = await gateway.refresh(token)
        assert status == 401 and problem["status"] == 401, token
        assert 'error="invalid_token"' in headers["WWW-Authenticate"]
    for body in ({}, {"refresh_token": 5}, {"refresh_token": tokens["refresh_token"], "extra": 1}):
        response = await gateway.client.post("/api/v1/auth/refresh", json=body)
        assert response.status == 400 and response.content_type == "application/problem+json", body
    [row] = await _session_rows(gateway)
    assert row["revoked_at"] is None and row["generation"] == 1
    assert (await gateway.refresh(tokens["refresh_token"]))[0] == 200  # still good


async def test_an_expired_session_cannot_be_renewed(gateway: Gateway):
    tokens = await gateway.tokens("ben@acme.test")
    conn = await connect(gateway.dsn)
    try:
        await conn.execute("UPDATE sessions SET expires_at = now() - interval '1 second'")
    finally:
        await conn.close()
    status, _, problem = await gateway.refresh(tokens["refresh_token"])
    assert status == 401 and "ended" in problem["detail"]


async def test_signing_out_with_the_refresh_token_ends_the_session_and_is_idempotent(gateway: Gateway):
    tokens = await gateway.tokens("ben@acme.test")
    for _ in range(2):
        response = await gateway.client.post("/api/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]})
        assert response.status == 204
    status, headers, problem = await gateway.get("/me", tokens["access_token"])
    assert status == 401 and _type(problem) == "unauthenticated"
    assert headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    assert (await gateway.refresh(tokens["refresh_token"]))[0] == 401
    assert [r["revoked_because"] for r in await _session_rows(gateway)] == ["signed-out"]


async def test_signing_out_with_the_access_token_ends_that_session_only(gateway: Gateway):
    laptop = await gateway.tokens("ben@acme.test")
    phone = await gateway.tokens("ben@acme.test")
    response = await gateway.client.post("/api/v1/auth/logout",
                                         headers={"Authorization": f"Bearer {laptop['access_token']}"})
    assert response.status == 204
    assert (await gateway.get("/me", laptop["access_token"]))[0] == 401
    assert (await gateway.refresh(laptop["refresh_token"]))[0] == 401
    assert (await gateway.get("/me", phone["access_token"]))[0] == 200


async def test_signing_out_without_a_token_is_401_and_with_a_bad_body_400(gateway: Gateway):
    response = await gateway.client.post("/api/v1/auth/logout")
    assert response.status == 401 and response.headers["WWW-Authenticate"] == "Bearer"
    response = await gateway.client.post("/api/v1/auth/logout", json={"refresh_token": 12})
    assert response.status == 400 and response.content_type == "application/problem+json"
    response = await gateway.client.post("/api/v1/auth/logout", json={"refresh_token": "x"},
                                         headers={"Authorization": "Bearer nonsense"})
    assert response.status == 204  # the refresh token named no session: nothing to end


async def test_my_sessions_lists_my_live_devices_and_marks_the_current_one(gateway: Gateway):
    laptop = await gateway.tokens("ben@acme.test", user_agent="Firefox on the laptop")
    phone = await gateway.tokens("ben@acme.test", user_agent="Phone app 1.0")
    ended = await gateway.tokens("ben@acme.test", user_agent="Old tablet")
    await gateway.client.post("/api/v1/auth/logout", json={"refresh_token": ended["refresh_token"]})
    await gateway.tokens("cleo@acme.test", user_agent="Cleo's browser")

    status, _, sessions = await gateway.get("/me/sessions", phone["access_token"])
    assert status == 200
    by_agent = {s["user_agent"]: s for s in sessions}
    assert set(by_agent) == {"Firefox on the laptop", "Phone app 1.0"}
    assert by_agent["Phone app 1.0"]["current"] and not by_agent["Firefox on the laptop"]["current"]
    assert by_agent["Phone app 1.0"]["id"] == claims_of(phone["access_token"])["sid"]
    assert by_agent["Phone app 1.0"]["ip"] == "127.0.0.1"
    assert {"created_at", "last_used_at"} <= set(by_agent["Phone app 1.0"])
    assert (await gateway.get("/me/sessions", laptop["access_token"]))[2][0]["user_agent"] in by_agent


async def test_ending_one_of_my_sessions_signs_that_device_out_and_another_persons_is_not_found(gateway: Gateway):
    laptop = await gateway.tokens("ben@acme.test")
    phone = await gateway.tokens("ben@acme.test")
    cleo = await gateway.tokens("cleo@acme.test")
    phone_id = claims_of(phone["access_token"])["sid"]
    auth = {"Authorization": f"Bearer {laptop['access_token']}"}

    response = await gateway.client.delete(f"/api/v1/me/sessions/{claims_of(cleo['access_token'])['sid']}",
                                           headers=auth)
    assert response.status == 404 and response.content_type == "application/problem+json"
    assert (await gateway.get("/me", cleo["access_token"]))[0] == 200  # Cleo's session goes on
    for missing in (str(uuid.uuid4()), "not-a-uuid"):
        response = await gateway.client.delete(f"/api/v1/me/sessions/{missing}", headers=auth)
        assert response.status == 404

    response = await gateway.client.delete(f"/api/v1/me/sessions/{phone_id}", headers=auth)
    assert response.status == 204
    assert (await gateway.get("/me", phone["access_token"]))[0] == 401
    assert (await gateway.refresh(phone["refresh_token"]))[0] == 401
    assert (await gateway.get("/me", laptop["access_token"]))[0] == 200
    response = await gateway.client.delete(f"/api/v1/me/sessions/{phone_id}", headers=auth)
    assert response.status == 404  # already ended
    response = await gateway.client.delete(f"/api/v1/me/sessions/{phone_id}")
    assert response.status == 401


async def test_deactivating_a_user_ends_every_session_of_theirs_at_once(gateway: Gateway):
    ben = [await gateway.tokens("ben@acme.test") for _ in range(2)]
    cleo = await gateway.tokens("cleo@acme.test")
    master = await gateway.tokens("master@acme.test")
    response = await gateway.client.patch(f"/api/v1/users/{BEN.id}", json={"active": False},
                                          headers={"Authorization": f"Bearer {master['access_token']}"})
    assert response.status == 200, await response.text()
    for tokens in ben:
        assert (await gateway.get("/me", tokens["access_token"]))[0] == 401
        assert (await gateway.refresh(tokens["refresh_token"]))[0] == 401
    assert (await gateway.get("/me", cleo["access_token"]))[0] == 200
    reasons = {r["revoked_because"] for r in await _session_rows(gateway) if r["person_id"] == BEN.id}
    assert reasons == {"deactivated"}
    assert (await gateway.sign_in("ben@acme.test"))[0] == 401


async def test_an_expired_access_token_is_told_apart_from_an_invalid_one(gateway: Gateway):
    tokens = await gateway.tokens("ben@acme.test")
    sid = uuid.UUID(claims_of(tokens["access_token"])["sid"])
    expired = issue_access_token(str(BEN.id), gateway.settings.jwt_secret, -10, session_id=sid)
    status, headers, problem = await gateway.get("/me", expired)
    assert status == 401 and _type(problem) == "token-expired" and "expired" in problem["detail"]
    assert headers["WWW-Authenticate"].startswith('Bearer error="invalid_token", error_description="')
    assert "expired" in headers["WWW-Authenticate"]

    forged = issue_access_token(str(BEN.id), "x" * 40, 900, session_id=sid)
    expired_elsewhere = issue_access_token(str(BEN.id), "x" * 40, -10, session_id=sid)
    for token in ("garbage", forged, expired_elsewhere):
        status, headers, problem = await gateway.get("/me", token)
        assert status == 401 and _type(problem) == "unauthenticated", token
        assert headers["WWW-Authenticate"] == 'Bearer error="invalid_token", error_description="The access ' \
                                              'token is not valid."'

    status, headers, problem = await gateway.get("/me", None)
    assert status == 401 and headers["WWW-Authenticate"] == "Bearer" and _type(problem) == "unauthenticated"
    # A person's token from before sessions (no `sid`) names no session: refused.
    status, _, _ = await gateway.get("/me", issue_access_token(str(BEN.id), gateway.settings.jwt_secret, 900))
    assert status == 401
    # And the token of a session that is not this person's.
    status, _, _ = await gateway.get("/me", issue_access_token(str(CLEO.id), gateway.settings.jwt_secret, 900,
                                                                session_id=sid))
    assert status == 401


async def test_a_failed_sign_in_carries_the_bearer_challenge_and_starts_no_session(gateway: Gateway):
    status, headers, problem = await gateway.sign_in("ben@acme.test", "wrong")
    assert status == 401 and headers["WWW-Authenticate"] == "Bearer" and problem["status"] == 401
    assert await _session_rows(gateway) == []
