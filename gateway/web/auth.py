"""Sign-in, access tokens and refresh tokens for the public API.

Passwords are argon2 hashes, verified in a worker thread (argon2 is deliberately slow and would stall
every other request on the event loop). Access tokens are short-lived HS256 JWTs naming the person and
their session (`sid`); the algorithm is pinned on decode so a token cannot choose `none` or another key
type. Refresh tokens are opaque to clients, random, and kept only as a sha256: see `RefreshToken`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from common.contracts import problems
from common.problems import Forbidden, Unauthenticated
from gateway.directory.domain import Person, Tenant
from gateway.directory.sessions import SessionState

_ALGORITHM = "HS256"
_ISSUER = "sms-credits"
_hasher = PasswordHasher()
# Verified against when the email is unknown, so a wrong email costs the same time as a wrong password
# and sign-in timing does not reveal who has an account.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


async def password_matches(password: str, password_hash: str | None) -> bool:
    def verify() -> bool:
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)


def bearer_challenge(description: str | None = None) -> str:
    """The `WWW-Authenticate` value of a 401 (RFC 6750): bare when no token was sent, `invalid_token`
    with a description when one was sent and is no good."""
    if description is None:
        return "Bearer"
    return f'Bearer error="invalid_token", error_description="{description.replace(chr(34), chr(39))}"'


class SignInRequired(Unauthenticated):
    """No access token at all."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.headers = {"WWW-Authenticate": bearer_challenge()}


class InvalidToken(Unauthenticated):
    """A token was sent and cannot be used: signing in again is the only way on."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.headers = {"WWW-Authenticate": bearer_challenge(detail)}


class TokenExpired(InvalidToken):
    """A genuine access token past its time: the client renews it with its refresh token."""

    problem = problems.TOKEN_EXPIRED


def issue_access_token(
    subject: str, secret: str, ttl: int, kind: str = "person", session_id: uuid.UUID | None = None
) -> str:
    now = int(time.time())
    # `jti` makes every token unique, even two issued to one session within the same second.
    claims: dict[str, str | int] = {"sub": subject, "kind": kind, "iss": _ISSUER, "iat": now, "exp": now + ttl,
                                    "jti": secrets.token_hex(8)}
    if session_id is not None:
        claims["sid"] = str(session_id)
    return jwt.encode(claims, secret, algorithm=_ALGORITHM)


@dataclass(frozen=True)
class TokenSubject:
    """Who a valid access token speaks for: a person (in a session) or an internal system."""

    kind: str
    subject: str  # a person's id, or an internal system's client id
    session_id: uuid.UUID | None


def subject_of(token: str, secret: str) -> TokenSubject:
    try:
        claims = jwt.decode(
            token, secret, algorithms=[_ALGORITHM], issuer=_ISSUER,
            options={"require": ["exp", "iat", "sub", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        # Only a token with a valid signature gets this far (PyJWT checks it before the times).
        raise TokenExpired("The access token has expired; renew it with the refresh token.") from None
    except jwt.PyJWTError:
        raise InvalidToken("The access token is not valid.") from None
    try:
        session_id = uuid.UUID(str(claims["sid"])) if "sid" in claims else None
    except ValueError:
        raise InvalidToken("The access token is not valid.") from None
    return TokenSubject(str(claims.get("kind", "person")), str(claims["sub"]), session_id)


_REFRESH_TOKEN = re.compile(r"([0-9a-f]{32})\.([1-9][0-9]{0,9})\.([A-Za-z0-9_-]{43})")


@dataclass(frozen=True)
class RefreshToken:
    """`<session id>.<generation>.<random>`. Each use hands out the next generation and only the sha256
    of the newest is kept: a token of an older generation is one already used, so somebody holds a
    copy, and the session ends. (That verdict needs no hash of the old token: forging one takes the
    session id, which only the session's own access tokens and device list show, and whoever has those
    can end the session anyway.)"""

    session_id: uuid.UUID
    generation: int
    random: str

    def __str__(self) -> str:
        return f"{self.session_id.hex}.{self.generation}.{self.random}"

    @property
    def digest(self) -> bytes:
        return hashlib.sha256(str(self).encode()).digest()

    @classmethod
    def new(cls, session_id: uuid.UUID, generation: int = 1) -> RefreshToken:
        return cls(session_id, generation, secrets.token_urlsafe(32))

    @classmethod
    def parse(cls, text: str) -> RefreshToken | None:
        match = _REFRESH_TOKEN.fullmatch(text)
        if match is None:
            return None
        return cls(uuid.UUID(match[1]), int(match[2]), match[3])


class Verdict(Enum):
    CURRENT = "current"  # the newest token: rotate it
    RESENT = "resent"  # the one before, moments after it was rotated: its answer was lost; rotate again
    REUSED = "reused"  # an older generation: a copy is about, end the session
    ENDED = "ended"  # signed out, revoked, expired or its person deactivated
    UNKNOWN = "unknown"  # no such session, or a token that was never issued


def judge_refresh(token: RefreshToken, state: SessionState | None, now: datetime,
                  grace: timedelta = timedelta(0)) -> Verdict:
    """What a presented refresh token is to its session. The previous token is forgiven for `grace` after
    its rotation, as Auth0's reuse interval and Okta's grace period do: a browser tab that navigated away
    while its refresh was answered never stored the new token, and sends the old one again."""
    if state is None:
        return Verdict.UNKNOWN
    if state.revoked or state.expires_at <= now or not state.person_active:
        return Verdict.ENDED
    if (token.generation == state.generation - 1 and state.previous_hash is not None
            and state.rotated_at is not None and now - state.rotated_at <= grace
            and hmac.compare_digest(token.digest, state.previous_hash)):
        return Verdict.RESENT
    if token.generation < state.generation:
        return Verdict.REUSED
    if token.generation == state.generation and hmac.compare_digest(token.digest, state.refresh_hash):
        return Verdict.CURRENT
    return Verdict.UNKNOWN


_SERVICE_NAMESPACE = uuid.UUID("a3c1b8e4-63f5-4f0e-9a43-1c2b7e3f9d21")


def service_caller(client_id: str) -> Caller:
    """An internal system, as a caller: no tenant, no credits of its own, role `service`."""
    person = Person(id=uuid.uuid5(_SERVICE_NAMESPACE, client_id), tenant_id=None, email="", name=client_id,
                    role="service", team=None, active=True, send_sms=False, manage_credits=False)
    return Caller(person, None)


class TenantUsersOnly(Forbidden):
    problem = problems.TENANT_USERS_ONLY


@dataclass(frozen=True)
class Caller:
    """The authenticated person behind a request, with their tenant (None for operators) and the
    session their token belongs to (None for internal systems, which have no sessions)."""

    person: Person
    tenant: Tenant | None
    session_id: uuid.UUID | None = None

    def require_tenant(self) -> Tenant:
        if self.tenant is None:
            # Signed in, as an operator or an internal system, but this belongs to a tenant's people: 403.
            # A 401 would tell the client its token is no good, and it would sign in again, in vain.
            raise TenantUsersOnly("This action is for a tenant's users; operators and internal systems have none.")
        return self.tenant
