"""A local SMTP server for tests (aiosmtpd), keeping every message it accepts."""

from __future__ import annotations

import email
import email.policy
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiohttp.test_utils import unused_port
from aiosmtpd.controller import Controller


@dataclass
class Mailbox:
    port: int
    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    async def wait_for(self, count: int, timeout: float = 10.0, to: str | None = None) -> list[EmailMessage]:
        """The emails once `count` have arrived (to `to` only, when named: a shared system's outbox may hold
        other tests' emails, which a newly started sender delivers too)."""
        import asyncio

        def arrived() -> list[EmailMessage]:
            return self.messages if to is None else self.to(to)

        deadline = time.monotonic() + timeout
        while len(arrived()) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(arrived())} of {count} emails arrived")
            await asyncio.sleep(0.05)
        return arrived()


@contextmanager
def start_mailbox() -> Iterator[Mailbox]:
    box = Mailbox(port=unused_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
