"""A gateway alone (no service behind it), seeded with the demo people, for the tests of sign-in, sessions,
limits and CORS: everything they check is answered before any service is called."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from gateway.app import create_app
from gateway.seed import DEMO_PASSWORD, seed
from gateway.settings import GatewaySettings
from tests.conftest import Infra, NewDatabase


@dataclass
class Gateway:
    client: TestClient
    settings: GatewaySettings
    dsn: str

    async def sign_in(self, email: str, password: str = DEMO_PASSWORD,
                      headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], dict[str, Any]]:
        response = await self.client.post("/api/v1/auth/token", json={"email": email, "password": password},
                                          headers=headers)
        return response.status, dict(response.headers), await response.json()

    async def tokens(self, email: str, user_agent: str = "tests") -> dict[str, Any]:
        status, _, body = await self.sign_in(email, headers={"User-Agent": user_agent})
        assert status == 200, body
        return body

    async def refresh(self, refresh_token: str) -> tuple[int, dict[str, str], dict[str, Any]]:
        response = await self.client.post("/api/v1/auth/refresh", json={"refresh_token": refresh_token})
        return response.status, dict(response.headers), await response.json()

    async def get(self, path: str, access_token: str | None) -> tuple[int, dict[str, str], Any]:
        headers = {"Authorization": f"Bearer {access_token}"} if access_token else {}
        response = await self.client.get("/api/v1" + path, headers=headers)
        return response.status, dict(response.headers), await response.json()


@asynccontextmanager
async def running_gateway(infra: Infra, new_database: NewDatabase, exchange_name: str,
                          **env: str) -> AsyncIterator[Gateway]:
    """`env`: settings by their environment names, over generous defaults (limits high, no CORS)."""
    async with running_replicas(infra, new_database, exchange_name, 1, **env) as [gateway]:
        yield gateway


@asynccontextmanager
async def running_replicas(infra: Infra, new_database: NewDatabase, exchange_name: str, count: int,
                           **env: str) -> AsyncIterator[list[Gateway]]:
    """`count` gateway processes behind one load balancer, as deployed: one database, one exchange, the same
    secrets. `env` as for `running_gateway`."""
    dsn = await new_database("gateway")
    settings = GatewaySettings.model_validate({
        "GATEWAY_DATABASE_URL": dsn, "BROKER_URL": infra.broker_url, "EXCHANGE_NAME": exchange_name,
        "INTERNAL_TOKEN_SECRET": secrets.token_urlsafe(40), "JWT_SECRET": secrets.token_urlsafe(40),
        "SIGN_IN_LIMIT_PER_IP": "1000/minute", "SIGN_IN_LIMIT_PER_EMAIL": "1000/minute", **env,
    })
    clients: list[TestClient] = []
    try:
        for _ in range(count):
            clients.append(TestClient(TestServer(create_app(settings))))
            await clients[-1].start_server()
        await seed(dsn)
        yield [Gateway(client, settings, dsn) for client in clients]
    finally:
        for client in clients:
            await client.close()


def claims_of(jwt: str) -> dict[str, Any]:
    """The claims of a JWT, unverified (what any holder of the token can read)."""
    payload = jwt.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))
