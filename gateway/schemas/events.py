"""The public shapes of catch-up: which of a tenant's ledger events to read again, and a page of them, each
a CloudEvents envelope exactly as it was published on the bus."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from common.contracts.ledger import MAX_PAGE_LIMIT, MAX_SEQUENCE


class EventsQuery(BaseModel):
    """Where the reader's copy of a tenant's ledger events ends, and how many to read."""

    # Unknown parameters are refused rather than ignored: a typo in `after_sequence` must not start a
    # subscriber over from the first event.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    tenant_id: uuid.UUID | None = Field(
        default=None,
        description="Whose events: required for an internal system (it belongs to no tenant); a master may "
                    "leave it out or name their own tenant",
    )
    after_sequence: int = Field(
        default=0, ge=0, le=MAX_SEQUENCE,
        description="The last `sequence` the reader applied (0: from the tenant's first event)",
    )
    limit: int = Field(default=MAX_PAGE_LIMIT, ge=1, le=MAX_PAGE_LIMIT, description="How many events a page holds")


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 structured-mode envelope, as published on the `sms-credits` exchange (AsyncAPI
    document: `/api/asyncapi.json`). Its `data` is described by the JSON Schema `dataschema` names."""

    # Passed on as published: attributes added later (extensions) reach the reader too.
    model_config = ConfigDict(extra="allow")

    specversion: str = Field(description="Always '1.0'")
    id: str = Field(description="Unique per event: the key of a subscriber's inbox")
    source: str = Field(description="The publishing service, e.g. '/sms-credits/ledger'")
    type: str = Field(description="Namespaced, e.g. 'com.smscredits.ledger.transaction.posted'; its routing key "
                                  "on the exchange is the type without 'com.smscredits.'")
    time: str = Field(description="When the fact happened (RFC 3339)")
    subject: str | None = Field(default=None, description="'tenants/{tenant_id}/...': what the event is about")
    datacontenttype: str | None = Field(default=None, description="Always 'application/json'")
    dataschema: str | None = Field(
        default=None, json_schema_extra={"format": "uri"},
        description="The address of the JSON Schema of `data` for this type "
                    "(`/api/events/schemas/{type}.json`)",
    )
    requestid: str | None = Field(default=None, description="The id of the request that caused the event")
    sequence: str = Field(
        description="The tenant's gapless event number, 20 digits zero-padded (text order is number order): "
                    "the ledger numbers each tenant's events 1, 2, 3, ... in commit order",
    )
    data: dict[str, Any] = Field(description="The payload, as its `dataschema` describes it")


class EventPage(BaseModel):
    """One page of a tenant's ledger events in sequence order. A `Link: <...>; rel="next"` header names the
    next page while there is one."""

    events: list[CloudEvent] = Field(description="In sequence order, from `after_sequence` + 1")
    next_after_sequence: int | None = Field(
        description="Pass as `after_sequence` for the next page; null when this page reached the newest event",
    )
    last_sequence: int = Field(description="The tenant's newest event so far: how far the stream reaches")
