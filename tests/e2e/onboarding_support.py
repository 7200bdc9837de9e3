"""For the onboarding test: a second gateway process beside the system's, sending its emails to a local
SMTP server (aiosmtpd), so that a test reads the invitation a person would. It shares the system's
database, as a second gateway worker would; the system's own gateway has no SMTP server and leaves the
emails to it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.e2e.conftest import LOGS, ROOT, System, _free_port, _reap
from tests.integration.billing.mail_support import Mailbox, start_mailbox


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with start_mailbox() as box:
        yield box


@pytest.fixture
async def mailing_gateway(system: System, mailbox: Mailbox) -> AsyncIterator[None]:
    port = _free_port()
    env = {**system.env, "GATEWAY_PORT": str(port), "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(mailbox.port),
           "SMTP_SECURITY": "none", "EMAIL_POLL_SECONDS": "0.2"}
    LOGS.mkdir(parents=True, exist_ok=True)
    with (LOGS / "gateway-mailing.log").open("ab") as log:
        process = subprocess.Popen([sys.executable, "-m", "gateway"], cwd=ROOT, env=env, stdout=log, stderr=log)
    system.processes["gateway-mailing"] = process
    system.ports["gateway-mailing"] = port
    try:
        await system.wait_ready("gateway-mailing")
        yield
    finally:
        system.processes.pop("gateway-mailing", None)
        process.terminate()
        _reap(process)
