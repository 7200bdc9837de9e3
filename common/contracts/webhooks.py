"""The webhooks service's internal HTTP API, as the gateway calls it: endpoints (a tenant's subscriptions
of outside systems to its public events), their delivery log, and replays."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_URL_LENGTH = 2048
MAX_EVENT_TYPES = 50
MAX_DESCRIPTION_LENGTH = 500
DeliveryStatus = Literal["pending", "delivered", "failed"]


class _Contract(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EndpointOrder(_Contract):
    """A new endpoint. `creator_email` is the master who registers it, as the gateway knows them: the one
    told when it is disabled."""

    url: str = Field(min_length=1, max_length=MAX_URL_LENGTH)
    event_types: list[str] = Field(min_length=1, max_length=MAX_EVENT_TYPES)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION_LENGTH)
    creator_email: str = Field(min_length=3, max_length=320)


class EndpointChanges(_Contract):
    """What a PATCH may change; a field left out stays as it is."""

    url: str | None = Field(default=None, min_length=1, max_length=MAX_URL_LENGTH)
    event_types: list[str] | None = Field(default=None, min_length=1, max_length=MAX_EVENT_TYPES)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION_LENGTH)
    enabled: bool | None = None


class Endpoint(_Contract):
    id: uuid.UUID
    url: str
    event_types: list[str]
    description: str | None
    enabled: bool
    disabled_reason: str | None
    created_at: datetime


class CreatedEndpoint(Endpoint):
    """The answer to a creation: the only time (with a rotation) the signing secret is shown."""

    secret: str


class RotatedSecret(_Contract):
    secret: str
    previous_secret_expires_at: datetime


class Delivery(_Contract):
    id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None  # None once delivered or failed
    delivered_at: datetime | None
    created_at: datetime


class DeliveryPage(_Contract):
    items: list[Delivery]
    next_cursor: str | None


class DeliveryQuery(_Contract):
    cursor: str | None = Field(default=None, max_length=200)
    limit: int = Field(default=50, ge=1, le=200)


class ReplaySince(_Contract):
    since: datetime


class Replayed(_Contract):
    replayed: int
