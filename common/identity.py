"""Who is asking: the identity the gateway vouches for in a short-lived signed internal token.

Services never trust a bare header such as X-Tenant-Id: anyone who reaches a service port could set
one. They trust only what the gateway signed, for that service (audience), within the last minute.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass
from typing import Literal

import jwt

from common.problems import Forbidden

Role = Literal["master", "user", "operator", "service"]
_ALGORITHM = "HS256"
_ISSUER = "sms-credits-gateway"
DEFAULT_TTL_SECONDS = 60
# Enough for every identity a busy minute brings; past it the cache starts again empty.
_MAX_VERIFIED = 10_000


@dataclass(frozen=True)
class Identity:
    role: Role
    tenant_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    team: str | None = None
    send_sms: bool = False
    manage_credits: bool = False
    credit_mode: Literal["shared", "individual"] | None = None

    def require_tenant(self) -> uuid.UUID:
        if self.tenant_id is None:
            raise Forbidden("This action belongs to a tenant, and the caller has none.")
        return self.tenant_id

    def require_operator(self, refusal: str) -> None:
        """A platform operator's action: anyone else is refused (403 forbidden) with `refusal`."""
        if self.role != "operator":
            raise Forbidden(refusal)


class InvalidInternalToken(Exception):
    pass


def issue_internal_token(
    identity: Identity, secret: str, audience: str, ttl: int = DEFAULT_TTL_SECONDS
) -> str:
    now = int(time.time())
    claims = {k: (str(v) if isinstance(v, uuid.UUID) else v) for k, v in asdict(identity).items()}
    claims.update(iss=_ISSUER, aud=audience, iat=now, exp=now + ttl)
    return jwt.encode(claims, secret, algorithm=_ALGORITHM)


# Tokens already verified, by (audience, secret, token): their expiry and identity. The gateway reuses
# a token for the same identity for half its life, and verifying the signature and claims of each call
# again was a tenth of the ledger's CPU. Only a token that passed every check is kept, under its exact
# text (a changed byte is another key), and only until its own `exp`.
_verified: dict[tuple[str, str, str], tuple[float, Identity]] = {}


def verify_internal_token(token: str, secret: str, audience: str) -> Identity:
    key = (audience, secret, token)
    found = _verified.get(key)
    if found is not None:
        expires_at, identity = found
        if time.time() < expires_at:
            return identity
        del _verified[key]
    identity, expires_at = _decode(token, secret, audience)
    if len(_verified) >= _MAX_VERIFIED:
        _verified.clear()
    _verified[key] = (expires_at, identity)
    return identity


def _decode(token: str, secret: str, audience: str) -> tuple[Identity, float]:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[_ALGORITHM],  # pinned: never let the token choose (alg: none, key confusion)
            audience=audience,
            issuer=_ISSUER,
            options={"require": ["exp", "iat", "aud", "iss"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidInternalToken(str(exc)) from exc

    def as_uuid(key: str) -> uuid.UUID | None:
        value = claims.get(key)
        return uuid.UUID(value) if value else None

    identity = Identity(
        role=claims["role"],
        tenant_id=as_uuid("tenant_id"),
        user_id=as_uuid("user_id"),
        team=claims.get("team"),
        send_sms=bool(claims.get("send_sms")),
        manage_credits=bool(claims.get("manage_credits")),
        credit_mode=claims.get("credit_mode"),
    )
    return identity, float(claims["exp"])
