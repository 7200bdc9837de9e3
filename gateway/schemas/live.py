"""The live stream's shape in the OpenAPI document: one Server-Sent Event (OpenAPI 3.1 describes an event
stream by the schema of each of its events). What each `data` holds is in docs/live-stream.md."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

LiveEventName = Literal["balance", "hold", "message", "purchase", "low_balance", "balance_recovered", "credit_mode",
                        "reset", "token_expired"]


class LiveEvent(BaseModel):
    """One event of the live stream (`text/event-stream`); the stream also sends `retry:` and comment lines."""

    event: LiveEventName = Field(description="What changed: each kind's `data` is described in the live "
                                             "stream's documentation")
    data: str = Field(description="A JSON object: the change, as the caller may see it",
                      json_schema_extra={"contentMediaType": "application/json", "contentSchema": {"type": "object"}})
    id: str | None = Field(default=None, description="Send the last one back as `Last-Event-ID` to resume")
    retry: int | None = Field(default=None, description="How long to wait before reconnecting, in milliseconds")
