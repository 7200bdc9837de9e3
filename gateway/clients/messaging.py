"""Messaging's API as the gateway calls it: hand over a paid-for message, read its status."""

from __future__ import annotations

import uuid

from common.contracts.messaging import DestinationRates, Message, MessageOrder
from common.identity import Identity
from gateway.clients.base import TypedClient


class MessagingClient(TypedClient):
    async def hand_over(self, identity: Identity, order: MessageOrder) -> Message:
        answer = await self._service.call("POST", "/messages", identity, body=order.model_dump(mode="json"))
        return Message.model_validate(answer)

    async def message(self, identity: Identity, message_id: uuid.UUID | str) -> Message:
        return Message.model_validate(await self._service.call("GET", f"/messages/{message_id}", identity))

    async def destination_rates(self, identity: Identity) -> dict[str, int]:
        """Credits per segment by destination country, `*` for every other one."""
        return DestinationRates.model_validate(await self._service.call("GET", "/destination-rates", identity)).rates

    async def set_destination_rates(self, identity: Identity, rates: DestinationRates) -> DestinationRates:
        answer = await self._service.call("PUT", "/destination-rates", identity, body=rates.model_dump())
        return DestinationRates.model_validate(answer)
