"""One harness for "a service with its database, bus and tokens", shared by every service's integration tests.

A test asks `start_service(...)` (a fixture in tests/conftest.py) for a service: it gets the service's
application running on a local port, against a database of its own (already migrated, cloned from the run's
template) and this test's exchange, a broker connection of its own for publishing events to it, and tokens
signed with the one internal secret every service under test shares.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiohttp import web
from aiohttp.test_utils import TestClient

from common.bus import Broker
from common.contracts.events import Event
from common.identity import Identity, issue_internal_token
from common.runtime import DB

# The secret the gateway and services share for internal identity tokens, the same for every service here.
INTERNAL_SECRET = "internal-token-secret-for-service-tests-0123456789"


def internal_token(audience: str, role: str = "master", tenant_id: uuid.UUID | None = None, **facts: Any) -> str:
    """A token as the gateway would sign it for `audience`, naming a caller with these facts."""
    identity = Identity(role=role, tenant_id=tenant_id, user_id=facts.pop("user_id", uuid.uuid4()), **facts)  # type: ignore[arg-type]
    return issue_internal_token(identity, INTERNAL_SECRET, audience)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class RunningService:
    """A service under test: its HTTP client, its settings, and a broker connection on its exchange."""

    name: str
    client: TestClient[web.Request, web.Application]
    settings: Any
    broker: Broker

    @property
    def app(self) -> web.Application:
        return self.client.app

    @property
    def pool(self) -> asyncpg.Pool:
        return self.client.app[DB]

    @property
    def dsn(self) -> str:
        return str(self.settings.database_url)

    def auth(self, role: str = "master", tenant_id: uuid.UUID | None = None, **facts: Any) -> dict[str, str]:
        """The Authorization header of a caller with these facts, for this service."""
        return bearer(internal_token(self.name, role, tenant_id, **facts))

    async def publish(self, event: Event) -> None:
        """Put an event on this test's exchange, as its producer's relay would."""
        await self.broker.publish(event.model_dump(mode="json", exclude_none=True), event.routing_key)



