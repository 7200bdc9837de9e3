"""The webhooks service's API as the gateway calls it: endpoints, their delivery log, replays."""

from __future__ import annotations

import uuid

from common.contracts.webhooks import (
    CreatedEndpoint,
    Delivery,
    DeliveryPage,
    DeliveryQuery,
    Endpoint,
    EndpointChanges,
    EndpointOrder,
    Replayed,
    ReplaySince,
    RotatedSecret,
)
from common.identity import Identity
from gateway.clients.base import TypedClient


def _key(idempotency_key: str | None) -> dict[str, str] | None:
    return {"Idempotency-Key": idempotency_key} if idempotency_key else None


class WebhooksClient(TypedClient):
    async def create(self, identity: Identity, order: EndpointOrder, idempotency_key: str | None) -> CreatedEndpoint:
        answer = await self._service.call("POST", "/endpoints", identity, body=order.model_dump(mode="json"),
                                          headers=_key(idempotency_key))
        return CreatedEndpoint.model_validate(answer)

    async def endpoints(self, identity: Identity) -> list[Endpoint]:
        return [Endpoint.model_validate(e) for e in await self._service.call("GET", "/endpoints", identity)]

    async def endpoint(self, identity: Identity, endpoint_id: uuid.UUID) -> Endpoint:
        return Endpoint.model_validate(await self._service.call("GET", f"/endpoints/{endpoint_id}", identity))

    async def change(self, identity: Identity, endpoint_id: uuid.UUID, changes: EndpointChanges) -> Endpoint:
        body = changes.model_dump(mode="json", exclude_unset=True)
        return Endpoint.model_validate(await self._service.call("PATCH", f"/endpoints/{endpoint_id}", identity,
                                                                body=body))

    async def delete(self, identity: Identity, endpoint_id: uuid.UUID) -> None:
        await self._service.call("DELETE", f"/endpoints/{endpoint_id}", identity)

    async def rotate_secret(self, identity: Identity, endpoint_id: uuid.UUID,
                            idempotency_key: str | None) -> RotatedSecret:
        answer = await self._service.call("POST", f"/endpoints/{endpoint_id}/rotate-secret", identity,
                                          headers=_key(idempotency_key))
        return RotatedSecret.model_validate(answer)

    async def deliveries(self, identity: Identity, endpoint_id: uuid.UUID, query: DeliveryQuery) -> DeliveryPage:
        params = query.model_dump(exclude_none=True)
        answer = await self._service.call("GET", f"/endpoints/{endpoint_id}/deliveries", identity, query=params)
        return DeliveryPage.model_validate(answer)

    async def replay(self, identity: Identity, endpoint_id: uuid.UUID, delivery_id: uuid.UUID) -> Delivery:
        answer = await self._service.call("POST", f"/endpoints/{endpoint_id}/deliveries/{delivery_id}/replay",
                                          identity)
        return Delivery.model_validate(answer)

    async def replay_since(self, identity: Identity, endpoint_id: uuid.UUID, since: ReplaySince) -> Replayed:
        answer = await self._service.call("POST", f"/endpoints/{endpoint_id}/replay", identity,
                                          body=since.model_dump(mode="json"))
        return Replayed.model_validate(answer)
