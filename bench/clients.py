"""How the load generator speaks to the system: as a signed-in person through the gateway, or as the
gateway itself to a service (a signed internal identity token, refreshed well before it expires)."""

from __future__ import annotations

import time
import uuid

import aiohttp
import orjson

from common.identity import Identity, issue_internal_token
from gateway.directory.domain import Person, Tenant

_REFRESH_SECONDS = 30  # internal tokens live 60 s


class InternalTokens:
    """One token per (identity, audience), re-issued every 30 seconds: issuing one per request would
    make the load generator measure its own JWT signing."""

    def __init__(self, secret: str) -> None:
        self._secret = secret
        self._cache: dict[tuple[Identity, str], tuple[float, str]] = {}

    def header(self, identity: Identity, audience: str) -> str:
        now = time.monotonic()
        cached = self._cache.get((identity, audience))
        if cached is None or now - cached[0] > _REFRESH_SECONDS:
            cached = (now, "Bearer " + issue_internal_token(identity, self._secret, audience))
            self._cache[(identity, audience)] = cached
        return cached[1]


def identity_of(person: Person, tenant: Tenant) -> Identity:
    """The identity the gateway would vouch for (as gateway.usecases.identity_for builds it)."""
    return Identity(
        role=person.role, tenant_id=tenant.id, user_id=person.id, team=person.team, send_sms=person.send_sms,
        manage_credits=person.manage_credits, credit_mode=tenant.credit_mode,
    )


async def sign_in(session: aiohttp.ClientSession, gateway_url: str, email: str, password: str) -> str:
    """An access token for the person, the way a client gets one."""
    async with session.post(f"{gateway_url}/api/v1/auth/token", json={"email": email, "password": password}) as r:
        body = await r.json(content_type=None)
        if r.status != 200:
            raise RuntimeError(f"sign-in of {email} answered {r.status}: {body}")
        return str(body["access_token"])


def json_body(value: object) -> bytes:
    return orjson.dumps(value)


def write_headers(authorization: str) -> dict[str, str]:
    return {"Authorization": authorization, "Idempotency-Key": str(uuid.uuid4()), "Content-Type": "application/json"}


def error_label(status: int) -> str:
    return f"http_{status}"
