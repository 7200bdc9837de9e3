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


class InvalidInternalToken(Exception):
    pass


def issue_internal_token(
    identity: Identity, secret: str, audience: str, ttl: int = DEFAULT_TTL_SECONDS
) -> str:
    now = int(time.time())
    claims = {k: (str(v) if isinstance(v, uuid.UUID) else v) for k, v in asdict(identity).items()}
    claims.update(iss=_ISSUER, aud=audience, iat=now, exp=now + ttl)
    return jwt.encode(claims, secret, algorithm=_ALGORITHM)


def verify_internal_token(token: str, secret: str, audience: str) -> Identity:
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

    return Identity(
        role=claims["role"],
        tenant_id=as_uuid("tenant_id"),
        user_id=as_uuid("user_id"),
        team=claims.get("team"),
        send_sms=bool(claims.get("send_sms")),
        manage_credits=bool(claims.get("manage_credits")),
        credit_mode=claims.get("credit_mode"),
    )
