"""Sign-in and access tokens for the public API.

Passwords are argon2 hashes, verified in a worker thread (argon2 is deliberately slow and would stall
every other request on the event loop). Access tokens are short-lived HS256 JWTs; the algorithm is
pinned on decode so a token cannot choose `none` or another key type.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from common.problems import Unauthenticated
from gateway.domain import Person, Tenant

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


def issue_access_token(person: Person, secret: str, ttl: int) -> str:
    now = int(time.time())
    claims = {
        "sub": str(person.id),
        "tid": str(person.tenant_id) if person.tenant_id else None,
        "iss": _ISSUER,
        "iat": now,
        "exp": now + ttl,
    }
    return jwt.encode(claims, secret, algorithm=_ALGORITHM)


def subject_of(token: str, secret: str) -> uuid.UUID:
    try:
        claims = jwt.decode(
            token, secret, algorithms=[_ALGORITHM], issuer=_ISSUER,
            options={"require": ["exp", "iat", "sub", "iss"]},
        )
        return uuid.UUID(claims["sub"])
    except (jwt.PyJWTError, ValueError) as exc:
        raise Unauthenticated("The access token is missing, expired or invalid.") from exc


@dataclass(frozen=True)
class Caller:
    """The authenticated person behind a request, with their tenant (None for operators)."""

    person: Person
    tenant: Tenant | None

    def require_tenant(self) -> Tenant:
        if self.tenant is None:
            raise Unauthenticated("This action needs a tenant user's token.")
        return self.tenant
