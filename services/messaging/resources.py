"""The messaging service's AppKeys, and the carrier link and sender built once beside the server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from common.runtime import DB, CleanupCtx
from services.messaging.sending import usecases as sending
from services.messaging.sending.domain import Receipt
from services.messaging.sending.sender import MessageSender
from services.messaging.sending.smpp import CarrierLink
from services.messaging.settings import MessagingSettings

SETTINGS = web.AppKey("settings", MessagingSettings)
LINK = web.AppKey("carrier-link", CarrierLink)
SENDER = web.AppKey("sender", MessageSender)


def carrier_ctx(settings: MessagingSettings) -> CleanupCtx:
    """The SMPP session, bound (and bound again) in the background, and the sender that uses it."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        pool = app[DB]

        async def on_receipt(receipt: Receipt) -> None:
            await sending.record_receipt(pool, receipt)

        app[LINK] = CarrierLink(settings, on_receipt)
        app[SENDER] = MessageSender(pool, app[LINK], settings)
        task = asyncio.create_task(app[LINK].run(), name="smpp-link")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return ctx
