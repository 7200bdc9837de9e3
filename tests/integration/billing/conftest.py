from __future__ import annotations

from collections.abc import AsyncIterator

import aio_pika
import pytest
from aiohttp.test_utils import TestClient, TestServer, unused_port

from services.billing.app import create_app
from services.billing.settings import BillingSettings
from tests.conftest import Infra, NewDatabase
from tests.integration.billing.harness import INTERNAL_SECRET, WEBHOOK_SECRET, Billing, EventTap


@pytest.fixture
async def billing(infra: Infra, new_database: NewDatabase, exchange_name: str) -> AsyncIterator[Billing]:
    # The test provider posts its webhooks to BILLING_WEBHOOK_URL: the port is chosen first so that
    # the URL names this very server.
    port = unused_port()
    settings = BillingSettings(
        database_url=await new_database("billing"),
        broker_url=infra.broker_url,
        exchange=exchange_name,
        internal_token_secret=INTERNAL_SECRET,
        test_provider_webhook_secret=WEBHOOK_SECRET,
        billing_webhook_url=f"http://127.0.0.1:{port}/webhooks/test",
        test_provider_retry_seconds=0.3,
        port=port,
    )
    app = create_app(settings)
    async with TestClient(TestServer(app, host="127.0.0.1", port=port)) as client:
        yield Billing(client=client, app=app, settings=settings)


@pytest.fixture
async def published(infra: Infra, billing: Billing) -> AsyncIterator[EventTap]:
    connection = await aio_pika.connect(infra.broker_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(billing.settings.exchange, routing_key="billing.#")
        yield EventTap(queue)
