"""Webhooks, for a tenant's masters only: register an outside system's URL for some public event types,
change, disable or delete it, rotate its secret, read its delivery log and replay deliveries. The
webhooks service checks the role and tenant again, and checks every URL's target (the SSRF guard)."""

from __future__ import annotations

import uuid

from common.contracts.webhooks import DeliveryQuery, EndpointChanges, EndpointOrder, ReplaySince
from common.identity import Identity
from gateway.clients.webhooks import WebhooksClient
from gateway.schemas.webhooks import (
    DeliveriesQuery,
    ReplayedView,
    ReplayRequest,
    WebhookChanges,
    WebhookCreated,
    WebhookDelivery,
    WebhookDeliveryPage,
    WebhookRequest,
    WebhookSecret,
    WebhookView,
)
from gateway.usecases.directory import MastersOnly
from gateway.usecases.identity import identity_for
from gateway.web.auth import Caller


def _master(caller: Caller) -> Identity:
    """Checked before the tenant: a user, an operator and a service are all refused as not masters."""
    if not caller.person.is_master:
        raise MastersOnly("Only a tenant's master users manage webhooks.")
    caller.require_tenant()
    return identity_for(caller)


async def create(client: WebhooksClient, caller: Caller, request: WebhookRequest,
                 idempotency_key: str | None) -> WebhookCreated:
    identity = _master(caller)
    # The master registering it is the one told if it is ever disabled.
    order = EndpointOrder(url=request.url, event_types=request.event_types, description=request.description,
                          creator_email=caller.person.email)
    created = await client.create(identity, order, idempotency_key)
    return WebhookCreated.model_validate(created.model_dump())


async def webhooks_of(client: WebhooksClient, caller: Caller) -> list[WebhookView]:
    return [WebhookView.model_validate(e.model_dump()) for e in await client.endpoints(_master(caller))]


async def webhook(client: WebhooksClient, caller: Caller, webhook_id: uuid.UUID) -> WebhookView:
    return WebhookView.model_validate((await client.endpoint(_master(caller), webhook_id)).model_dump())


async def change(client: WebhooksClient, caller: Caller, webhook_id: uuid.UUID,
                 request: WebhookChanges) -> WebhookView:
    identity = _master(caller)
    changes = EndpointChanges.model_validate(request.model_dump(exclude_unset=True))
    return WebhookView.model_validate((await client.change(identity, webhook_id, changes)).model_dump())


async def delete(client: WebhooksClient, caller: Caller, webhook_id: uuid.UUID) -> None:
    await client.delete(_master(caller), webhook_id)


async def rotate_secret(client: WebhooksClient, caller: Caller, webhook_id: uuid.UUID,
                        idempotency_key: str | None) -> WebhookSecret:
    rotated = await client.rotate_secret(_master(caller), webhook_id, idempotency_key)
    return WebhookSecret.model_validate(rotated.model_dump())


async def deliveries(client: WebhooksClient, caller: Caller, webhook_id: uuid.UUID,
                     query: DeliveriesQuery) -> WebhookDeliveryPage:
    page = await client.deliveries(_master(caller), webhook_id, DeliveryQuery(**query.model_dump()))
    return WebhookDeliveryPage.model_validate(page.model_dump())


async def replay(client: WebhooksClient, caller: Caller, webhook_id: uuid.UUID,
                 delivery_id: uuid.UUID) -> WebhookDelivery:
    return WebhookDelivery.model_validate((await client.replay(_master(caller), webhook_id, delivery_id)).model_dump())


async def replay_since(client: WebhooksClient, caller: Caller, webhook_id: uuid.UUID,
                       request: ReplayRequest) -> ReplayedView:
    replayed = await client.replay_since(_master(caller), webhook_id, ReplaySince(since=request.since))
    return ReplayedView.model_validate(replayed.model_dump())
