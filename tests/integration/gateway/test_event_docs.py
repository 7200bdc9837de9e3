"""The event contract as the gateway serves it, without a token: the AsyncAPI document, one JSON Schema per
event type (a problem+json 404 for a type that does not exist), and the page for people, whose every
asset comes from the gateway itself."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator

import pytest

from common.contracts import events
from common.contracts.asyncapi import event_schema
from common.contracts.catalogue import CATALOGUE
from common.contracts.event_examples import example_event
from tests.conftest import Infra, NewDatabase
from tests.integration.gateway.auth_support import Gateway, running_gateway

BASE = "https://credits.example.test"


@pytest.fixture
async def gateway(infra: Infra, new_database: NewDatabase, exchange_name: str) -> AsyncIterator[Gateway]:
    async with running_gateway(infra, new_database, exchange_name, PUBLIC_BASE_URL=BASE + "/") as running:
        yield running


async def test_the_asyncapi_document_is_served_without_a_token(gateway: Gateway, exchange_name: str) -> None:
    response = await gateway.client.get("/api/asyncapi.json")
    document = await response.json()

    assert response.status == 200 and response.content_type == "application/json"
    assert document["asyncapi"] == "3.0.0" and document["info"]["title"] == "SMS Credits events"
    assert set(document["components"]["schemas"]) == set(CATALOGUE)
    # Built for this installation: its public address and its exchange.
    assert document["info"]["externalDocs"]["url"] == f"{BASE}/api/events"
    channel = document["channels"][events.routing_key(events.PURCHASE_PAID)]
    assert channel["bindings"]["amqp"]["exchange"]["name"] == exchange_name


async def test_each_type_schema_is_served_and_is_the_one_the_contract_generates(gateway: Gateway) -> None:
    for event_type in CATALOGUE:
        response = await gateway.client.get(f"/api/events/schemas/{event_type}.json")
        assert response.status == 200 and response.content_type == "application/schema+json", event_type
        assert json.loads(await response.read()) == event_schema(event_type)


@pytest.mark.parametrize("path", [
    "/api/events/schemas/com.smscredits.ledger.nothing.happened.json",
    # The routing key is not the type: a subscriber asking by it is told so rather than given a schema.
    "/api/events/schemas/ledger.transaction.posted.json",
])
async def test_an_unknown_type_is_a_problem_404(gateway: Gateway, path: str) -> None:
    response = await gateway.client.get(path)
    problem = await response.json()

    assert response.status == 404 and response.content_type == "application/problem+json"
    assert problem["type"] == f"{BASE}/problems/event-type-not-found"
    assert "/api/events" in problem["detail"]


async def test_the_events_page_lists_every_event_with_local_assets_only(gateway: Gateway) -> None:
    response = await gateway.client.get("/api/events")
    page = await response.text()

    assert response.status == 200 and response.content_type == "text/html"
    for event_type, spec in CATALOGUE.items():
        assert f'id="{spec.routing_key}"' in page, event_type
        assert f'href="/api/events/schemas/{event_type}.json"' in page, event_type
        # Its example, JSON escaped for HTML.
        assert f"&#34;id&#34;: &#34;{example_event(event_type)['id']}&#34;" in page, event_type
    section = page.split(f'id="{events.routing_key(events.TRANSACTION_POSTED)}"', 1)[1].split("</section>")[0]
    assert "<dt>Published by</dt><dd>ledger</dd>" in section
    assert "reporting (queue <code>" in section and "billing (queue <code>" in section
    assert "Yes: carries the tenant" in section and "Public: the bus, webhooks and the live stream" in section
    assert "90 days" in page and "after_sequence=N" in page and "/api/v1/webhooks" in page
    assert "/api/v1/stream" in page
    # Nothing from another origin (the CSP would refuse it): every stylesheet and script is the gateway's.
    assets = re.findall(r'<(?:link|script)[^>]+(?:href|src)="([^"]+)"', page)
    assert assets and all(asset.startswith("/") and not asset.startswith("//") for asset in assets)
    for asset in assets:
        served = await gateway.client.get(asset)
        assert served.status == 200, asset


async def test_the_contract_answers_never_ask_for_a_token_but_the_api_still_does(gateway: Gateway) -> None:
    for path in ("/api/asyncapi.json", f"/api/events/schemas/{events.HOLD_EXPIRED}.json", "/api/events"):
        response = await gateway.client.get(path)
        assert response.status == 200, path
    assert (await gateway.client.get("/api/v1/events?after_sequence=0")).status == 401
