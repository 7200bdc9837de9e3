from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import aio_pika
import aiohttp
import pytest
from aiohttp.test_utils import unused_port

from services.billing.app import create_app
from services.billing.settings import BillingSettings
from tests.conftest import Infra, StartService
from tests.integration.billing.harness import WEBHOOK_SECRET, Billing, EventTap
from tests.integration.billing.mail_support import Mailbox, start_mailbox
from tests.integration.billing.stripe_support import (
    STRIPE_PUBLISHABLE_KEY,
    STRIPE_SECRET_KEY,
    STRIPE_WEBHOOK_SECRET,
    StripeTestClient,
)

StartBilling = Callable[..., Awaitable[Billing]]


@pytest.fixture
async def start_billing(start_service: StartService) -> StartBilling:
    """Start a billing service on a port of its own; keyword arguments override its settings."""

    async def start(**overrides: Any) -> Billing:
        # The test provider posts its webhooks to BILLING_WEBHOOK_URL: the port is chosen first so
        # that the URL names this very server.
        port = unused_port()
        values: dict[str, Any] = {
            "test_provider_webhook_secret": WEBHOOK_SECRET,
            "billing_webhook_url": f"http://127.0.0.1:{port}/webhooks/test",
            "test_provider_retry_seconds": 0.3,
            **overrides,
        }
        service = await start_service("billing", create_app, BillingSettings, port=port, **values)
        return Billing(client=service.client, app=service.app, settings=service.settings)

    return start


@pytest.fixture
async def billing(start_billing: StartBilling) -> Billing:
    return await start_billing()


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    """A local SMTP server (aiosmtpd) that keeps what it receives."""
    with start_mailbox() as box:
        yield box


@pytest.fixture
async def mailing_billing(start_billing: StartBilling, mailbox: Mailbox) -> Billing:
    return await start_billing(smtp_host="127.0.0.1", smtp_port=mailbox.port, smtp_security="none",
                               email_poll_seconds=0.1, email_retry_seconds=0.5)


async def _published_tap(infra: Infra, exchange: str) -> AsyncIterator[EventTap]:
    connection = await aio_pika.connect(infra.broker_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(exchange, routing_key="billing.#")
        yield EventTap(queue)


@pytest.fixture
async def published(infra: Infra, billing: Billing) -> AsyncIterator[EventTap]:
    async for tap in _published_tap(infra, billing.settings.exchange):
        yield tap


@pytest.fixture
async def billing_events(infra: Infra, exchange_name: str) -> AsyncIterator[EventTap]:
    """What any billing of this test publishes (bound before the service starts, so nothing is missed)."""
    connection = await aio_pika.connect(infra.broker_url)
    async with connection:
        channel = await connection.channel()
        await channel.declare_exchange(exchange_name, aio_pika.ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(exchange_name, routing_key="billing.#")
        yield EventTap(queue)


def _wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("localstripe exited at start-up")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError("localstripe did not start")


@pytest.fixture(scope="session")
def localstripe() -> Iterator[str]:
    """A fake Stripe API (the `localstripe` package) on a port of its own, for the whole run."""
    port = unused_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "localstripe", "--port", str(port), "--from-scratch"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
async def stripe_client(localstripe: str) -> AsyncIterator[StripeTestClient]:
    async with aiohttp.ClientSession() as session:
        yield StripeTestClient(localstripe, session)


@pytest.fixture
async def stripe_billing(start_billing: StartBilling, localstripe: str) -> Billing:
    """Billing with the Stripe provider against localstripe, which sends its signed webhooks here."""
    billing = await start_billing(
        payment_provider="stripe", test_provider_webhook_secret=None, stripe_api_base=localstripe,
        stripe_secret_key=STRIPE_SECRET_KEY, stripe_publishable_key=STRIPE_PUBLISHABLE_KEY,
        stripe_webhook_secret=STRIPE_WEBHOOK_SECRET,
    )
    # One webhook endpoint, overwritten by each test: localstripe then signs and sends every event here.
    url = f"http://127.0.0.1:{billing.settings.port}/webhooks/stripe"
    async with aiohttp.ClientSession() as session, session.post(
        f"{localstripe}/_config/webhooks/billing", data={"url": url, "secret": STRIPE_WEBHOOK_SECRET}
    ) as response:
        assert response.status == 200, await response.text()
    return billing
