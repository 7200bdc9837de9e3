"""The event contract, published for subscribers: the AsyncAPI document (`/api/asyncapi.json`), the JSON
Schema of each event type (`/api/events/schemas/{type}.json`, what every event's `dataschema` names) and
a page for people (`/api/events`), all built from `common.contracts.asyncapi` once, when the app is.

Public like the API's own document: these paths are outside `/api/v1/`, where the authentication
middleware asks for a token. The page is server-rendered with the site's own stylesheet, nothing from
another origin (the Content-Security-Policy would refuse it anyway)."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import jinja2
from aiohttp import web

from common.contracts import asyncapi, events, problems
from common.contracts.catalogue import CATALOGUE
from common.problems import NotFound
from gateway.settings import GatewaySettings
from gateway.web.pages import HERE

SCHEMA_PATH = "/api/events/schemas/{type}.json"
# The contract changes only with a deployment: a client or proxy may keep it a few minutes.
_CACHEABLE = {"Cache-Control": "public, max-age=300"}


class NoSuchEventType(NotFound):
    problem = problems.EVENT_TYPE_NOT_FOUND
_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True, undefined=jinja2.StrictUndefined
)


@dataclass(frozen=True)
class Consumer:
    service: str
    queue: str


@dataclass(frozen=True)
class EventView:
    """One event type as the page shows it, read back from the AsyncAPI document."""

    type: str
    routing_key: str
    title: str
    summary: str
    publisher: str
    consumers: tuple[Consumer, ...]
    subject: str
    public: bool
    sequenced: bool
    schema_path: str
    example: str  # the example envelope, as indented JSON


def catalogue_view(document: dict[str, Any]) -> list[EventView]:
    """Every message of the document with who sends and receives it, in the document's order."""
    consumers: dict[str, list[Consumer]] = defaultdict(list)
    for operation in document["operations"].values():
        if operation["action"] == "receive":
            channel = operation["channel"]["$ref"].removeprefix("#/channels/")
            consumers[channel].append(Consumer(operation["x-service"], operation["x-queue"]))
    views = []
    for channel_id, channel in document["channels"].items():
        for reference in channel["messages"].values():
            message = document["components"]["messages"][reference["$ref"].removeprefix("#/components/messages/")]
            views.append(EventView(
                type=message["x-type"],
                routing_key=channel["address"],
                title=message["title"],
                summary=message["summary"],
                publisher=message["x-publisher"],
                consumers=tuple(consumers[channel_id]),
                subject=message["x-subject"],
                public=message["x-audience"] == "public",
                sequenced=message["x-sequenced"],
                schema_path=SCHEMA_PATH.format(type=message["x-type"]),
                example=json.dumps(message["examples"][0]["payload"], indent=2),
            ))
    return views


def page_html(document: dict[str, Any], exchange: str) -> str:
    return _templates.get_template("events.html").render(
        info=document["info"], events=catalogue_view(document), exchange=exchange, namespace=events.NAMESPACE,
        example_type=events.TRANSACTION_POSTED, example_key=events.routing_key(events.TRANSACTION_POSTED),
    )


def routes(settings: GatewaySettings) -> list[web.RouteDef]:
    document = asyncapi.document(settings.public_base_url, settings.exchange)
    document_body = json.dumps(document).encode()
    schemas = {event_type: json.dumps(asyncapi.event_schema(event_type), indent=2).encode()
               for event_type in CATALOGUE}
    page = page_html(document, settings.exchange)

    async def asyncapi_document(_: web.Request) -> web.Response:
        return web.Response(body=document_body, content_type="application/json", headers=_CACHEABLE)

    async def event_schema(request: web.Request) -> web.Response:
        event_type = request.match_info["type"]
        body = schemas.get(event_type)
        if body is None:
            raise NoSuchEventType(f"There is no event type {event_type!r}; /api/events lists every type.")
        return web.Response(body=body, content_type="application/schema+json", headers=_CACHEABLE)

    async def events_page(_: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html", headers=_CACHEABLE)

    return [
        web.get("/api/asyncapi.json", asyncapi_document),
        web.get(SCHEMA_PATH, event_schema),
        web.get("/api/events", events_page),
    ]
