"""The pure parts of sessions and sign-in limits: refresh tokens and the verdict on one presented, the
401 challenge, the client's address behind trusted proxies, and the RateLimit quota of a window."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from limits import parse

from gateway.directory.sessions import SessionState
from gateway.web import ratelimit
from gateway.web.auth import (
    InvalidToken,
    RefreshToken,
    SignInRequired,
    TokenExpired,
    Verdict,
    bearer_challenge,
    issue_access_token,
    judge_refresh,
    subject_of,
)
from gateway.web.ratelimit import MovingWindow, Quota, RateLimited, client_address, networks, tightest

NOW = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
SECRET = "s" * 40


def _state(token: RefreshToken, **changes: object) -> SessionState:
    values: dict[str, object] = {"generation": token.generation, "refresh_hash": token.digest,
                                 "expires_at": NOW + timedelta(days=30), "revoked": False, "person_active": True}
    values.update(changes)
    return SessionState(**values)  # type: ignore[arg-type]


def test_a_refresh_token_reads_back_as_itself_and_is_random():
    token = RefreshToken.new(uuid.uuid4(), 7)
    assert RefreshToken.parse(str(token)) == token
    assert token.digest == hashlib.sha256(str(token).encode()).digest()
    assert RefreshToken.new(token.session_id, 7) != token
    assert len(token.random) == 43  # 256 random bits


# Fixed, so that every process of a parallel run (pytest-xdist) collects the same tests.
SOME_SESSION = uuid.UUID("0257aca5-d673-4950-a1e0-13049e32b557")


@pytest.mark.parametrize("text", [
    "", "nonsense", f"{SOME_SESSION.hex}.0.{'a' * 43}", f"{SOME_SESSION.hex}.1.{'a' * 42}",
    f"{SOME_SESSION.hex}.1.{'a' * 43} ", f"{SOME_SESSION}.1.{'a' * 43}", f"{SOME_SESSION.hex}.01.{'a' * 43}",
    f"{SOME_SESSION.hex}.12345678901.{'a' * 43}", f"{SOME_SESSION.hex}.1.{'a' * 42}=",
])
def test_anything_else_is_not_a_refresh_token(text: str):
    assert RefreshToken.parse(text) is None


def test_the_newest_token_of_a_live_session_is_current_and_an_older_one_reused():
    token = RefreshToken.new(uuid.uuid4(), 3)
    assert judge_refresh(token, _state(token), NOW) is Verdict.CURRENT
    newer = RefreshToken.new(token.session_id, 4)
    assert judge_refresh(token, _state(newer), NOW) is Verdict.REUSED


def test_the_token_just_replaced_is_forgiven_only_within_the_grace_and_only_itself():
    replaced = RefreshToken.new(uuid.uuid4(), 3)
    newest = RefreshToken.new(replaced.session_id, 4)
    grace = timedelta(seconds=30)
    rotated = _state(newest, previous_hash=replaced.digest, rotated_at=NOW - timedelta(seconds=10))
    assert judge_refresh(replaced, rotated, NOW, grace) is Verdict.RESENT
    assert judge_refresh(replaced, rotated, NOW) is Verdict.REUSED  # no grace configured
    assert judge_refresh(replaced, rotated, NOW + timedelta(seconds=21), grace) is Verdict.REUSED  # too late
    forged = RefreshToken.new(replaced.session_id, 3)  # its generation, not its secret
    assert judge_refresh(forged, rotated, NOW, grace) is Verdict.REUSED
    older = RefreshToken.new(replaced.session_id, 2)
    assert judge_refresh(older, rotated, NOW, grace) is Verdict.REUSED
    assert judge_refresh(replaced, _state(newest, previous_hash=replaced.digest, rotated_at=NOW - timedelta(seconds=10),
                                          revoked=True), NOW, grace) is Verdict.ENDED


def test_a_token_never_issued_is_unknown_and_a_session_over_is_ended():
    token = RefreshToken.new(uuid.uuid4(), 3)
    assert judge_refresh(token, None, NOW) is Verdict.UNKNOWN
    forged = RefreshToken.new(token.session_id, 3)  # the right generation, the wrong secret
    assert judge_refresh(forged, _state(token), NOW) is Verdict.UNKNOWN
    ahead = RefreshToken.new(token.session_id, 4)
    assert judge_refresh(ahead, _state(token), NOW) is Verdict.UNKNOWN
    for ended in ({"revoked": True}, {"expires_at": NOW}, {"person_active": False}):
        assert judge_refresh(token, _state(token, **ended), NOW) is Verdict.ENDED, ended
        older = RefreshToken.new(token.session_id, 2)
        assert judge_refresh(older, _state(token, **ended), NOW) is Verdict.ENDED  # nothing left to revoke


def test_an_access_token_names_its_session_and_says_when_it_expired():
    sid = uuid.uuid4()
    subject = subject_of(issue_access_token("ben", SECRET, 60, session_id=sid), SECRET)
    assert (subject.kind, subject.subject, subject.session_id) == ("person", "ben", sid)
    assert subject_of(issue_access_token("crm", SECRET, 60, kind="service"), SECRET).session_id is None
    with pytest.raises(TokenExpired) as expired:
        subject_of(issue_access_token("ben", SECRET, -1, session_id=sid), SECRET)
    assert expired.value.slug == "token-expired"
    assert expired.value.headers == {"WWW-Authenticate": bearer_challenge(expired.value.detail)}
    for bad in ("junk", issue_access_token("ben", "t" * 40, 60), issue_access_token("ben", "t" * 40, -1)):
        with pytest.raises(InvalidToken) as invalid:
            subject_of(bad, SECRET)
        assert invalid.value.slug == "unauthenticated" and not isinstance(invalid.value, TokenExpired)


def test_the_challenge_is_bare_without_a_token_and_invalid_token_with_one():
    assert SignInRequired("Sign in.").headers == {"WWW-Authenticate": "Bearer"}
    assert bearer_challenge('It said "no".') == 'Bearer error="invalid_token", error_description="It said \'no\'."'


TRUSTED = networks("10.0.0.0/8, 127.0.0.1 ,::1")


@pytest.mark.parametrize(("peer", "forwarded", "expected"), [
    ("198.51.100.7", None, "198.51.100.7"),
    ("198.51.100.7", "203.0.113.1", "198.51.100.7"),  # not our proxy: its header is the client's own say
    ("10.0.0.5", "203.0.113.1", "203.0.113.1"),
    ("10.0.0.5", "192.0.2.66, 203.0.113.1, 10.9.9.9", "203.0.113.1"),  # right-most that is not ours
    ("::1", "2001:db8::1", "2001:db8::1"),
    ("10.0.0.5", "10.1.1.1, 10.2.2.2", "10.1.1.1"),  # all ours: the first hop
    ("10.0.0.5", "not-an-address", "10.0.0.5"),
    ("10.0.0.5", " , ", "10.0.0.5"),
    (None, "203.0.113.1", "unknown"),
])
def test_the_client_address_trusts_x_forwarded_for_only_from_our_proxies(
        peer: str | None, forwarded: str | None, expected: str):
    assert client_address(peer, forwarded, TRUSTED) == expected


def test_no_trusted_proxies_means_the_peer_always():
    assert networks("") == ()
    assert client_address("10.0.0.5", "203.0.113.1", networks("")) == "10.0.0.5"
    with pytest.raises(ValueError):
        networks("10.0.0.0/8, office-proxy")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [1000.0]
    monkeypatch.setattr(ratelimit.time, "monotonic", lambda: now[0])
    return now


def test_a_window_reports_its_quota_for_the_ratelimit_fields(clock: list[float]):
    window = MovingWindow(parse("3/minute"))
    assert window.quota("ben") == Quota(3, 3, 0)
    window.hit("ben")
    clock[0] += 20
    window.hit("ben")
    assert window.quota("ben") == Quota(3, 1, 40)  # the first hit leaves the window in 40 s
    assert Quota(3, 1, 40).headers() == {"RateLimit-Limit": "3", "RateLimit-Remaining": "1",
                                         "RateLimit-Reset": "40"}
    assert tightest(Quota(300, 299, 60), Quota(10, 4, 60), Quota(10, 10, 0)) == Quota(10, 4, 60)


def test_a_429_carries_retry_after_and_an_exhausted_quota():
    refused = RateLimited("Slow down.", 12, Quota(5, 0, 12))
    assert refused.headers == {"Retry-After": "12", "RateLimit-Limit": "5", "RateLimit-Remaining": "0",
                               "RateLimit-Reset": "12"}
    assert RateLimited("Slow down.", 0).headers == {"Retry-After": "1"}
