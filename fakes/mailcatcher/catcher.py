"""An SMTP server that accepts any email for anyone and stores it (mailbox.py) instead of delivering it:
what billing's tax invoices and the gateway's invitations would have sent, kept for a developer to read.
Plain SMTP on 127.0.0.1 only, no authentication (SMTP_SECURITY=none): it is a local development tool."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from common.contracts import mailbox
from common.logs import get_logger

log = get_logger(__name__)


class StoreHandler:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    # The name aiosmtpd calls for each message accepted.
    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        path = await asyncio.to_thread(mailbox.store, self.folder, content)
        log.info("email_caught", file=path.name, recipients=len(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


async def serve(folder: Path, host: str, port: int) -> asyncio.Server:
    """Listen on host:port; each connection gets its own SMTP session storing into `folder`."""
    handler = StoreHandler(folder)
    loop = asyncio.get_running_loop()

    def session() -> Any:
        return SMTP(handler, hostname="mailcatcher.local", ident="sms-credits mail catcher")

    return await loop.create_server(session, host, port)
