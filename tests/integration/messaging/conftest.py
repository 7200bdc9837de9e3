from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
import smpp34
from aiohttp.test_utils import TestClient

from common import sms
from common.runtime import DB
from fakes.smsc.simulator import SimulatorSettings, Smsc
from services.messaging.app import create_app
from services.messaging.resources import LINK, SENDER
from services.messaging.sending.sender import MessageSender
from services.messaging.sending.smpp import CarrierLink
from services.messaging.settings import MessagingSettings
from tests.conftest import StartService
from tests.harness import bearer, internal_token
from tests.support import eventually, free_port, mobile_number


def number(ending: str = "") -> str:
    """A random valid Australian mobile number, so tests never share a recipient (delivered by the
    simulator unless `ending` is one of its test endings)."""
    return sms.e164(mobile_number(ending))


@dataclass
class MessagingHarness:
    client: TestClient
    smsc: Smsc
    settings: MessagingSettings

    @property
    def pool(self) -> asyncpg.Pool:
        return self.client.app[DB]

    @property
    def sender(self) -> MessageSender:
        return self.client.app[SENDER]

    @property
    def link(self) -> CarrierLink:
        return self.client.app[LINK]

    def token(self, tenant_id: uuid.UUID, user_id: uuid.UUID, role: str = "user",
              send_sms: bool = True) -> dict[str, str]:
        return bearer(internal_token("messaging", role, tenant_id, user_id=user_id, send_sms=send_sms))

    @staticmethod
    def order(recipients: list[str], body: str = "Hello from the test", expires_in: float = 900) -> dict[str, Any]:
        segments = sms.count_segments(body)
        return {
            "id": str(uuid.uuid4()), "hold_id": str(uuid.uuid4()),
            "hold_expires_at": (datetime.now(UTC) + timedelta(seconds=expires_in)).isoformat(),
            "account_code": "system", "recipients": recipients, "body": body,
            "segments": segments, "credits": segments * len(recipients),
        }

    async def hand_over(self, order: dict[str, Any], tenant_id: uuid.UUID | None = None,
                        user_id: uuid.UUID | None = None) -> tuple[int, dict[str, Any]]:
        headers = self.token(tenant_id or uuid.uuid4(), user_id or uuid.uuid4())
        response = await self.client.post("/messages", json=order, headers=headers)
        return response.status, await response.json()

    async def settlement(self, message_id: str, timeout: float = 10) -> dict[str, Any]:
        """The settlement event messaging wrote for the message, once it has."""
        found: list[dict[str, Any]] = []

        async def settled() -> bool:
            rows = await self.pool.fetch(
                "SELECT envelope FROM outbox WHERE routing_key = 'messaging.message.settled'")
            found[:] = [r["envelope"]["data"] for r in rows if r["envelope"]["data"]["message_id"] == message_id]
            return bool(found)

        await eventually(settled, timeout=timeout)
        assert len(found) == 1, found
        return found[0]

    def accepted_for(self, destination: str) -> list[Any]:
        return [s for s in self.smsc.accepted if s.destination == destination.lstrip("+")]


@pytest.fixture
async def smsc() -> AsyncIterator[Smsc]:
    settings = SimulatorSettings(port=free_port(), http_port=free_port(), receipt_seconds=0.05)
    simulator = Smsc(settings)
    server = smpp34.Server(host="127.0.0.1", port=settings.port, system_id="SIM")
    await server.start()
    task = asyncio.create_task(simulator.serve(server))
    yield simulator
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await server.stop()


@pytest.fixture
async def messaging(start_service: StartService, smsc: Smsc) -> MessagingHarness:
    service = await start_service(
        "messaging", create_app, MessagingSettings, smpp_port=smsc.settings.port, smpp_rate_per_second=500,
        smpp_reconnect_seconds=0.2, expiry_sweep_seconds=0.2,
    )
    harness = MessagingHarness(service.client, smsc, service.settings)

    async def bound() -> bool:
        return harness.link.is_bound

    await eventually(bound, timeout=10)
    return harness
