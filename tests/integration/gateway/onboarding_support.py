"""A gateway of its own for the onboarding tests: the demo directory seeded, its emails sent to a local SMTP
server (aiosmtpd), and what a test asks of it (sign in, read the emailed link, count what changed). The
gateway runs alone: onboarding calls no service, and what it tells them waits in its outbox."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
from aiohttp.test_utils import TestClient, TestServer

from common.contracts import events
from common.runtime import DB
from gateway.app import create_app
from gateway.directory import store
from gateway.seed import ACME, DEMO_PASSWORD, seed
from gateway.settings import GatewaySettings
from gateway.web.auth import hash_password
from tests.conftest import Infra, NewDatabase
from tests.integration.billing.mail_support import Mailbox

PUBLIC_BASE_URL = "https://credits.example.test"
# What a bad request must leave as it was.
TABLES = ("tenants", "users", "password_tokens", "email_outbox", "outbox", "tenant_creations")


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str]
    content_type: str


@dataclass
class Onboarding:
    client: TestClient[Any, Any]
    mailbox: Mailbox

    @property
    def pool(self) -> asyncpg.Pool:
        return self.client.app[DB]

    async def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Answer:
        response = await self.client.request(method, path, json=body, headers=headers or {})
        text = await response.text()
        parsed = await response.json(content_type=None) if text else None
        return Answer(response.status, parsed, dict(response.headers), response.content_type)

    async def sign_in(self, email: str, password: str = DEMO_PASSWORD) -> dict[str, str]:
        answer = await self.call("POST", "/api/v1/auth/token", {"email": email, "password": password})
        assert answer.status == 200, answer.body
        return {"Authorization": f"Bearer {answer.body['access_token']}"}

    async def service_client(self, client_id: str, tenant_id: uuid.UUID | None = ACME.id) -> dict[str, str]:
        """An internal system bound to `tenant_id` (or to none), signed in."""
        secret = secrets.token_urlsafe(24)
        async with self.pool.acquire() as conn:
            await store.save_service_client(conn, client_id, await asyncio.to_thread(hash_password, secret),
                                            tenant_id)
        answer = await self.call("POST", "/api/v1/auth/service-token",
                                 {"client_id": client_id, "client_secret": secret})
        assert answer.status == 200, answer.body
        return {"Authorization": f"Bearer {answer.body['access_token']}"}

    async def link_sent_to(self, address: str, count: int = 1, timeout: float = 10.0) -> str:
        """The token of the `count`-th emailed link to this address, once it has arrived."""
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.mailbox.to(address)) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{len(self.mailbox.to(address))} of {count} emails to {address} arrived")
            await asyncio.sleep(0.05)
        return token_in(self.mailbox.to(address)[count - 1].get_body(("plain",)).get_content())  # type: ignore[union-attr]

    async def counts(self) -> dict[str, int]:
        async with self.pool.acquire() as conn:
            return {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in TABLES}  # noqa: S608

    async def events(self, routing_key: str) -> list[dict[str, Any]]:
        """The payloads of the events of this type in the outbox, oldest first."""
        async with self.pool.acquire() as conn:
            rows = await conn.fetch("SELECT envelope FROM outbox WHERE routing_key = $1 ORDER BY id",
                                    events.routing_key(routing_key))  # a type names its key too
        return [r["envelope"]["data"] for r in rows]


def token_in(text: str) -> str:
    """The token of the set-password link in an email's text."""
    [url] = [word for word in text.split() if word.startswith(PUBLIC_BASE_URL)]
    parts = urlsplit(url)
    assert parts.path == "/set-password", url
    [token] = parse_qs(parts.query)["token"]
    return token


@asynccontextmanager
async def running_gateway(
    infra: Infra, new_database: NewDatabase, exchange_name: str, mailbox: Mailbox, **settings: str
) -> AsyncIterator[Onboarding]:
    dsn = await new_database("gateway")
    values = {
        "GATEWAY_DATABASE_URL": dsn, "BROKER_URL": infra.broker_url, "EXCHANGE_NAME": exchange_name,
        "INTERNAL_TOKEN_SECRET": secrets.token_urlsafe(40), "JWT_SECRET": secrets.token_urlsafe(40),
        "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(mailbox.port), "SMTP_SECURITY": "none",
        "EMAIL_POLL_SECONDS": "0.1", "PUBLIC_BASE_URL": PUBLIC_BASE_URL, **settings,
    }
    client: TestClient[Any, Any] = TestClient(TestServer(create_app(GatewaySettings.model_validate(values))))
    await client.start_server()
    await seed(dsn)
    try:
        yield Onboarding(client, mailbox)
    finally:
        await client.close()
