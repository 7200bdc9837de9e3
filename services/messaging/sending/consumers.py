"""Events messaging reacts to: its own queue of messages to send."""

from __future__ import annotations

from aiohttp import web

from common.bus import EventHandler, PoisonEvent
from common.contracts import events
from common.contracts.events import Event, MessageQueued
from services.messaging.resources import SENDER


def outgoing_handler(app: web.Application) -> EventHandler:
    async def handle(event: Event) -> None:
        if event.type != events.MESSAGE_QUEUED:
            raise PoisonEvent(f"the outgoing queue does not handle {event.type}")
        # Acknowledged only once every part has the carrier's answer: a crash before that delivers the
        # message again, and the sender picks up from what its parts recorded. No inbox row: the parts'
        # states are the record of what was done, so a second delivery finds nothing left to send.
        await app[SENDER].send(event.payload(MessageQueued).message_id)

    return handle
