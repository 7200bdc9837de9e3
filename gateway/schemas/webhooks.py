"""The public shapes of webhooks: a tenant's outside systems subscribed to its public events, their
delivery log and replays. The answers are the webhooks service's contract models under public names
(`common.contracts.webhooks`); the requests are the public API's own (the gateway adds who is asking)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, WithJsonSchema

from common.contracts import webhooks
from common.contracts.catalogue import CATALOGUE
from common.contracts.webhooks import MAX_DESCRIPTION_LENGTH, MAX_EVENT_TYPES, MAX_URL_LENGTH
from gateway.schemas.credits import IsoDatetime, _Request

_URL = "Where events are POSTed: http(s), no credentials, a public address"
_TYPES = "Public event types to receive, e.g. com.smscredits.ledger.transaction.posted (see /api/events)"
# Documented as the set it is; checked by the webhooks service, whose 422 names a type outside it.
PublicEventType = Annotated[str, WithJsonSchema(
    {"type": "string", "enum": sorted(spec.type for spec in CATALOGUE.values() if spec.audience == "public")}
)]


class WebhookRequest(_Request):
    url: str = Field(min_length=1, max_length=MAX_URL_LENGTH, description=_URL)
    event_types: list[PublicEventType] = Field(min_length=1, max_length=MAX_EVENT_TYPES, description=_TYPES)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION_LENGTH)


class WebhookChanges(_Request):
    url: str | None = Field(default=None, min_length=1, max_length=MAX_URL_LENGTH, description=_URL)
    event_types: list[PublicEventType] | None = Field(default=None, min_length=1, max_length=MAX_EVENT_TYPES,
                                                      description=_TYPES)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION_LENGTH)
    enabled: bool | None = Field(default=None, description="true re-enables a webhook disabled after failures")


class WebhookView(webhooks.Endpoint):
    """A webhook (its secret is never shown again after creation or rotation)."""


class WebhookCreated(webhooks.CreatedEndpoint):
    """A new webhook with its signing secret: shown only in this answer."""


class WebhookSecret(webhooks.RotatedSecret):
    """The new signing secret; the previous one still signs until `previous_secret_expires_at`."""


class WebhookDelivery(webhooks.Delivery):
    """One event to one webhook: its status, attempts and the last attempt's result."""


class WebhookDeliveryPage(BaseModel):
    items: list[WebhookDelivery]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")


class DeliveriesQuery(_Request):
    cursor: str | None = Field(default=None, max_length=200, description="The last page's `next_cursor`")
    limit: int = Field(default=50, ge=1, le=200)


class ReplayRequest(_Request):
    since: IsoDatetime = Field(description="Send again every delivery made since then (delivered or failed)")


class ReplayedView(webhooks.Replayed):
    """How many deliveries were queued again."""
