"""The gateway's webhook flow with a stand-in webhooks service: masters only, checked before the service
is called, and the creating master's email handed down (who is told when the webhook is disabled)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from common.contracts.webhooks import CreatedEndpoint, EndpointOrder
from common.identity import Identity
from gateway.clients.webhooks import WebhooksClient
from gateway.schemas.webhooks import WebhookRequest
from gateway.usecases import webhooks
from gateway.usecases.directory import MastersOnly
from gateway.web.auth import service_caller
from tests.unit.gateway.fakes import caller, shared_tenant

REQUEST = WebhookRequest(url="https://crm.example.com/hooks", event_types=["com.smscredits.ledger.balance.low"])


class FakeWebhooks(WebhooksClient):
    def __init__(self) -> None:
        self.orders: list[tuple[Identity, EndpointOrder, str | None]] = []

    async def create(self, identity: Identity, order: EndpointOrder, idempotency_key: str | None) -> CreatedEndpoint:
        self.orders.append((identity, order, idempotency_key))
        return CreatedEndpoint(id=uuid.uuid4(), url=order.url, event_types=order.event_types, description=None,
                               enabled=True, disabled_reason=None, created_at=datetime.now(UTC), secret="whsec_x")


async def test_a_master_registers_a_webhook_for_their_tenant_named_as_its_creator():
    tenant, client = shared_tenant(), FakeWebhooks()
    master = caller(tenant, "master")
    created = await webhooks.create(client, master, REQUEST, "key-1")
    [(identity, order, key)] = client.orders
    assert (identity.role, identity.tenant_id, identity.user_id) == ("master", tenant.id, master.person.id)
    assert order.creator_email == master.person.email and key == "key-1"
    assert created.secret == "whsec_x" and type(created).__name__ == "WebhookCreated"


@pytest.mark.parametrize("who", ["user", "service", "operator"])
async def test_anyone_but_a_master_is_refused_before_the_service_is_asked(who: str):
    client = FakeWebhooks()
    if who == "service":
        not_master = service_caller("crm")
    elif who == "operator":
        not_master = caller(shared_tenant(), "operator")
        not_master = type(not_master)(not_master.person, None)
    else:
        not_master = caller(shared_tenant(), "user", manage_credits=True)
    with pytest.raises(MastersOnly):
        await webhooks.create(client, not_master, REQUEST, None)
    with pytest.raises(MastersOnly):
        await webhooks.webhooks_of(client, not_master)
    assert client.orders == []
