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

from common.problems import Forbidden, Unauthenticated
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


def issue_access_token(subject: str, secret: str, ttl: int, kind: str = "person") -> str:
    now = int(time.time())
    claims = {"sub": subject, "kind": kind, "iss": _ISSUER, "iat": now, "exp": now + ttl}
    return jwt.encode(claims, secret, algorithm=_ALGORITHM)


def subject_of(token: str, secret: str) -> tuple[str, str]:
    """(kind, subject) of a valid token: a person's id, or an internal system's client id."""
    try:
        claims = jwt.decode(
            token, secret, algorithms=[_ALGORITHM], issuer=_ISSUER,
            options={"require": ["exp", "iat", "sub", "iss"]},
        )
        return str(claims.get("kind", "person")), str(claims["sub"])
    except jwt.PyJWTError as exc:
        raise Unauthenticated("The access token is missing, expired or invalid.") from exc


_SERVICE_NAMESPACE = uuid.UUID("a3c1b8e4-63f5-4f0e-9a43-1c2b7e3f9d21")


def service_caller(client_id: str) -> Caller:
    """An internal system, as a caller: no tenant, no credits of its own, role `service`."""
    person = Person(id=uuid.uuid5(_SERVICE_NAMESPACE, client_id), tenant_id=None, email="", name=client_id,
                    role="service", team=None, active=True, send_sms=False, manage_credits=False)
    return Caller(person, None)


class TenantUsersOnly(Forbidden):
    slug = "tenant-users-only"


@dataclass(frozen=True)
class Caller:
    """The authenticated person behind a request, with their tenant (None for operators)."""

    person: Person
    tenant: Tenant | None

    def require_tenant(self) -> Tenant:
        if self.tenant is None:
            # Signed in, as an operator or an internal system, but this belongs to a tenant's people: 403.
            # A 401 would tell the client its token is no good, and it would sign in again, in vain.
            raise TenantUsersOnly("This action is for a tenant's users; operators and internal systems have none.")
        return self.tenant
