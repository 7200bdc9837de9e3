"""A message and its recipients in the shape of messaging's API (`common.contracts.messaging`, which
also holds the hand-over it takes)."""

from __future__ import annotations

from common.contracts.messaging import Message
from services.messaging.messages.usecases import MessageView


def message_answer(message: MessageView) -> Message:
    return Message.model_validate(message, from_attributes=True)
