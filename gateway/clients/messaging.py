"""Messaging's API as the gateway calls it: hand over a paid-for message, read its status."""

from __future__ import annotations

import uuid

from common.contracts.messaging import Message, MessageOrder
from common.identity import Identity
from gateway.clients.base import TypedClient


class MessagingClient(TypedClient):
    async def hand_over(self, identity: Identity, order: MessageOrder) -> Message:
        answer = await self._service.call("POST", "/messages", identity, body=order.model_dump(mode="json"))
        return Message.model_validate(answer)

    async def message(self, identity: Identity, message_id: uuid.UUID | str) -> Message:
        return Message.model_validate(await self._service.call("GET", f"/messages/{message_id}", identity))
