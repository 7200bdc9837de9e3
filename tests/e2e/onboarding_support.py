"""For the onboarding test: a second gateway process beside the system's, sending its emails to a local
SMTP server (aiosmtpd), so that a test reads the invitation a person would. It shares the system's
database, as a second gateway worker would; the system's own gateway has no SMTP server and leaves the
emails to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from tests.e2e.conftest import System
from tests.integration.billing.mail_support import Mailbox, start_mailbox
from tests.support import free_port


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with start_mailbox() as box:
        yield box


@pytest.fixture
async def mailing_gateway(system: System, mailbox: Mailbox) -> AsyncIterator[None]:
    port = free_port()
    env = {**system.env, "GATEWAY_PORT": str(port), "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(mailbox.port),
           "SMTP_SECURITY": "none", "EMAIL_POLL_SECONDS": "0.2"}
    async with system.beside("gateway-mailing", "gateway", env, port):
        yield
