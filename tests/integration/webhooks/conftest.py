"""The webhooks service against real Postgres and RabbitMQ, and real receivers: aiohttp servers on
127.0.0.1 that record what they get and answer what the test tells them to."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from common.contracts import events
from common.contracts.events import BalanceLow, Event
from services.webhooks.app import create_app
from services.webhooks.endpoints.domain import new_secret
from services.webhooks.settings import WebhooksSettings
from tests.conftest import StartService
from tests.harness import RunningService

# The whole retry schedule (about three days) in about 2.5 s.
FAST_RETRIES = 0.00001




@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


@dataclass
class Receiver:
    """A receiver on 127.0.0.1. `answer(n)` is the status of its n-th request (1-based); 200 by default,
    given `delay` seconds after the request arrived (`answered` counts the answers given)."""

    answer: Callable[[int], int] = lambda _: 200
    location: str | None = None  # sent with every answer (a redirect's target)
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    answered: int = 0
    port: int = 0
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    async def start(self, port: int = 0) -> Receiver:
        async def handle(request: web.Request) -> web.Response:
            self.received.append(Received(request.path, dict(request.headers), await request.read()))
            status = self.answer(len(self.received))
            await asyncio.sleep(self.delay)
            self.answered += 1
            headers = {"Location": self.location} if self.location else None
            return web.Response(status=status, headers=headers)

        app = web.Application()
        app.router.add_post("/{tail:.*}", handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = port or site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def ids(self) -> list[str]:
        return [r.webhook_id for r in self.received]


@pytest.fixture
async def receivers() -> AsyncIterator[Callable[..., Any]]:
    started: list[Receiver] = []

    async def make(answer: Callable[[int], int] = lambda _: 200, port: int = 0, delay: float = 0.0) -> Receiver:
        receiver = await Receiver(answer, delay=delay).start(port)
        started.append(receiver)
        return receiver

    yield make
    for receiver in started:
        await receiver.stop()


@pytest.fixture
def start_webhooks(start_service: StartService) -> Callable[..., Any]:
    """The service with private targets allowed (receivers are on 127.0.0.1), fast retries and polling."""

    async def start(**overrides: Any) -> RunningService:
        values: dict[str, Any] = {"allow_private": True, "retry_scale": FAST_RETRIES, "poll_seconds": 0.02,
                                  "timeout_seconds": 2.0, **overrides}
        return await start_service("webhooks", create_app, WebhooksSettings, **values)

    return start


@pytest.fixture
async def webhooks(start_webhooks: Callable[..., Any]) -> RunningService:
    service: RunningService = await start_webhooks()
    return service


def balance_low(tenant_id: uuid.UUID, available: int = 5) -> Event:
    """A small public event of the tenant's."""
    account_id = uuid.uuid4()
    payload = BalanceLow(tenant_id=tenant_id, account_id=account_id, account_code="system", available=available,
                         threshold=100)
    return Event.new(type=events.BALANCE_LOW, source=events.source("ledger"),
                     subject=events.account_subject(tenant_id, account_id), data=payload)


async def register(service: RunningService, tenant_id: uuid.UUID, url: str,
                   event_types: tuple[str, ...] = (events.BALANCE_LOW,),
                   email: str = "ava@acme.test") -> dict[str, Any]:
    response = await service.client.post(
        "/endpoints", json={"url": url, "event_types": list(event_types), "creator_email": email},
        headers=service.auth("master", tenant_id),
    )
    body = await response.json()
    assert response.status == 201, body
    return dict(body)


async def delivery_log(service: RunningService, tenant_id: uuid.UUID, endpoint_id: str) -> list[dict[str, Any]]:
    response = await service.client.get(f"/endpoints/{endpoint_id}/deliveries",
                                        headers=service.auth("master", tenant_id))
    assert response.status == 200
    return list((await response.json())["items"])


async def stored_endpoint(service: RunningService, tenant_id: uuid.UUID, url: str,
                          secret: str | None = None) -> uuid.UUID:
    """An endpoint written straight into the table, past the checks at creation: as if its URL (or secret)
    had been accepted by an earlier rule, or had gone bad since."""
    endpoint_id = uuid.uuid4()
    await service.pool.execute(
        """INSERT INTO endpoints (id, tenant_id, url, event_types, secret, creator_email)
           VALUES ($1, $2, $3, $4, $5, 'a@b.test')""",
        endpoint_id, tenant_id, url, [events.BALANCE_LOW], secret or new_secret())
    return endpoint_id
