"""The published contract of the events, generated from the catalogue: a JSON Schema of each type's whole
CloudEvents envelope, and the AsyncAPI 3.0.0 document of the bus (who publishes what, on which routing
key, who consumes it from which queue). Pure functions, no I/O: the gateway serves what they build.

The schemas are JSON Schema draft-07, the dialect AsyncAPI 3.0's default schema format extends, so one
schema serves both as `GET /api/events/schemas/{type}.json` and inside the AsyncAPI document. Each is
self-contained: the payload model's `$defs` are inlined (no payload is recursive), because a `$ref` inside
the document would resolve against the document's root, not the schema's.
"""

from __future__ import annotations

import re
from typing import Any

from common.contracts import events, headers
from common.contracts.catalogue import CATALOGUE, EventSpec
from common.contracts.event_examples import example_event
from common.contracts.queues import TOPOLOGY, QueueSpec

JSON_SCHEMA_DIALECT = "http://json-schema.org/draft-07/schema#"
ASYNCAPI_VERSION = "3.0.0"
# The version of the contract as a whole: its minor moves when a type or an optional field is added.
CONTRACT_VERSION = "1.0.0"
DEFAULT_EXCHANGE = "sms-credits"
CONTENT_TYPE = "application/cloudevents+json"
AMQP_BINDING_VERSION = "0.3.0"
SEQUENCE_PATTERN = "^[0-9]{20}$"
_UUID = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_PLACEHOLDER = re.compile(r"{(\w+)}")
# What a subject pattern's fixed parts may hold: plain enough to need no escaping in any regex dialect
# (JSON Schema patterns are ECMA-262, where Python's `re.escape` output is not always valid).
_PLAIN = re.compile(r"[a-z_/]*")
# CloudEvents extension attribute names: lower-case letters and digits.
_ATTRIBUTE_NAME = "^[a-z0-9]{1,20}$"


class UnknownEventType(KeyError):
    """An event type the catalogue does not hold."""


def spec_of(event_type: str) -> EventSpec:
    try:
        return CATALOGUE[event_type]
    except KeyError:
        raise UnknownEventType(event_type) from None


def subject_regex(pattern: str) -> str:
    """The regex of a subject pattern: `tenants/{tenant_id}/accounts/{account_id}` matches
    `tenants/<uuid>/accounts/<uuid>` and nothing else (every placeholder is an id)."""
    parts = _PLACEHOLDER.split(pattern)  # literal, name, literal, name, ..., literal
    literals = parts[::2]
    if not all(_PLAIN.fullmatch(literal) for literal in literals):
        raise ValueError(f"subject pattern {pattern!r} has characters a regex would need escaped")
    return "^" + _UUID.join(literals) + "$"


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with every `#/$defs/...` reference replaced by its definition, and no `$defs` left."""
    definitions = schema.get("$defs", {})

    def resolve(node: Any, within: frozenset[str]) -> Any:
        if isinstance(node, list):
            return [resolve(item, within) for item in node]
        if not isinstance(node, dict):
            return node
        resolved = {key: resolve(value, within) for key, value in node.items() if key not in ("$ref", "$defs")}
        reference = node.get("$ref")
        if isinstance(reference, str):
            name = reference.removeprefix("#/$defs/")
            if name == reference or name not in definitions or name in within:
                raise ValueError(f"cannot inline {reference!r} (not a local definition, or recursive)")
            # Keywords beside the `$ref` (a description) win over the definition's own.
            return {**resolve(definitions[name], within | {name}), **resolved}
        return resolved

    inlined: dict[str, Any] = resolve(schema, frozenset())
    return inlined


def event_schema(event_type: str) -> dict[str, Any]:
    """The JSON Schema (draft-07) of a type's whole envelope, its `data` the payload model's schema.

    Open for additions, as the versioning policy promises: a new optional field in `data` or a new
    extension attribute is not a violation, so a subscriber validating with this schema keeps working."""
    spec = spec_of(event_type)
    sequence = {"type": "string", "pattern": SEQUENCE_PATTERN,
                "description": "The tenant's event number (CloudEvents sequence extension), 20 digits zero-padded "
                               "so text order is number order; without gaps per tenant."}
    properties: dict[str, Any] = {
        "specversion": {"type": "string", "const": events.SPECVERSION, "description": "CloudEvents version."},
        "id": {"type": "string", "format": "uuid",
               "description": "Unique per event, kept on redelivery: de-duplicate on it."},
        "source": {"type": "string", "const": spec.source, "format": "uri-reference",
                   "description": f"The publishing service: {spec.publisher}."},
        "type": {"type": "string", "const": spec.type},
        "subject": {"type": "string", "pattern": subject_regex(spec.subject),
                    "description": f"What the event is about: `{spec.subject}`."},
        "time": {"type": "string", "format": "date-time", "description": "When the fact happened."},
        "datacontenttype": {"type": "string", "const": "application/json"},
        "dataschema": {"type": "string", "format": "uri",
                       "pattern": "/api/events/schemas/" + spec.type.replace(".", r"\.") + r"\.json$",
                       "description": "This schema's address on the installation's gateway."},
        "requestid": {"type": "string", "minLength": 1,
                      "description": "The API request that caused the event (its X-Request-ID); absent when "
                                     "no request did (a periodic job)."},
        "sequence": sequence,
        "data": _inlined(spec.payload.model_json_schema(mode="validation")),
    }
    required = ["specversion", "id", "source", "type", "subject", "time", "datacontenttype", "dataschema", "data"]
    if spec.sequenced:
        required.append("sequence")
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": events.schema_url(spec.type),
        "title": spec.type,
        "description": spec.summary,
        "type": "object",
        "properties": properties,
        "required": required,
        "propertyNames": {"pattern": _ATTRIBUTE_NAME},
    }


def title_of(spec: EventSpec) -> str:
    """`billing.purchase.paid` -> `Purchase paid`: the routing key without its publisher, in words."""
    words = spec.routing_key.split(".", 1)[1].replace(".", " ").replace("_", " ")
    return words[:1].upper() + words[1:]


def consumers_of(event_type: str) -> list[QueueSpec]:
    return [queue for queue in TOPOLOGY if event_type in queue.types]


def _description(base_url: str) -> str:
    return f"""\
Every change to credits in SMS Credits is announced as a [CloudEvents 1.0](https://cloudevents.io) event in
structured mode (`{CONTENT_TYPE}`), published with publisher confirms to the durable topic exchange of the
RabbitMQ broker. The whole envelope of each type has a JSON Schema; every event's `dataschema` points at it.

**Routing keys.** An event's routing key is its `type` without the `{events.NAMESPACE}.` prefix:
`{events.TRANSACTION_POSTED}` travels as `{events.routing_key(events.TRANSACTION_POSTED)}`. Bind your own
durable queue to the keys you want (`ledger.#`, or `#` for everything).

**Delivery.** At least once: de-duplicate on the event `id`. Subjects are `tenants/{{tenant_id}}/...`.

**Sequence and catch-up.** Every ledger event carries the tenant's `sequence` (CloudEvents sequence
extension): 1, 2, 3, ... per tenant without gaps, 20 digits zero-padded. A subscriber that sees a number
more than one past the last it applied missed events, and reads them in order, a page at a time, with
`GET {base_url}/api/v1/events?after_sequence=N` (a service token; `tenant_id=` names the tenant).

**Versioning.** Within a type, changes are additive only: a new optional field, a new value where the
schema says the set is open. Ignore what you do not know. A breaking change is a new type with a `.v2`
suffix (`{events.TRANSACTION_POSTED}.v2`), published beside the old one for at least 90 days.

**Outside the bus.** Systems outside (a customer's CRM, a mobile backend) receive the public events by
signed webhooks (`{base_url}/api/v1/webhooks`), and web and mobile clients through the live stream
(`{base_url}/api/v1/stream`, Server-Sent Events). The page for people: {base_url}/api/events.
"""


def _channel(spec: EventSpec, exchange: str) -> dict[str, Any]:
    return {
        "address": spec.routing_key,
        "title": title_of(spec),
        "summary": spec.summary,
        "messages": {spec.routing_key: {"$ref": f"#/components/messages/{spec.routing_key}"}},
        "bindings": {"amqp": {
            "is": "routingKey",
            "exchange": {"name": exchange, "type": "topic", "durable": True, "autoDelete": False, "vhost": "/"},
            "bindingVersion": AMQP_BINDING_VERSION,
        }},
    }


def _message(spec: EventSpec) -> dict[str, Any]:
    reach = ("Public: also offered to webhooks and the live stream." if spec.audience == "public"
             else "Internal: the services' own conversation, on the bus only.")
    sequenced = " Carries the tenant's `sequence`." if spec.sequenced else ""
    return {
        "name": spec.payload.__name__,
        "title": title_of(spec),
        "summary": spec.summary,
        "description": f"Type `{spec.type}`, published by {spec.publisher}, subject `{spec.subject}`. "
                       f"{reach}{sequenced}",
        "contentType": CONTENT_TYPE,
        "payload": {"$ref": f"#/components/schemas/{spec.type}"},
        **({"headers": amqp_headers} if (amqp_headers := headers.schema_of(spec.type)) else {}),
        "correlationId": {"description": "The API request that caused the event.",
                          "location": "$message.payload#/requestid"},
        "tags": [{"name": spec.publisher}, {"name": spec.audience}],
        "bindings": {"amqp": {"messageType": spec.type, "bindingVersion": AMQP_BINDING_VERSION}},
        "examples": [{"name": "example", "summary": f"A {title_of(spec).lower()} event.",
                      "payload": example_event(spec.type)}],
        "x-type": spec.type,
        "x-publisher": spec.publisher,
        "x-subject": spec.subject,
        "x-audience": spec.audience,
        "x-sequenced": spec.sequenced,
    }


def _channel_refs(spec: EventSpec) -> dict[str, Any]:
    return {
        "channel": {"$ref": f"#/channels/{spec.routing_key}"},
        "messages": [{"$ref": f"#/channels/{spec.routing_key}/messages/{spec.routing_key}"}],
    }


def _send(spec: EventSpec) -> dict[str, Any]:
    return {
        "action": "send",
        "title": f"{spec.publisher} publishes {spec.routing_key}",
        "summary": f"{spec.publisher} publishes {title_of(spec).lower()} from its outbox.",
        "description": f"Written to {spec.publisher}'s outbox in the transaction that makes the fact true, then "
                       "relayed to the exchange with publisher confirms, persistent: never lost, possibly repeated.",
        **_channel_refs(spec),
        "tags": [{"name": spec.publisher}],
        "bindings": {"amqp": {"deliveryMode": 2, "bindingVersion": AMQP_BINDING_VERSION}},
        "x-service": spec.publisher,
    }


def _receive(spec: EventSpec, queue: QueueSpec, exchange: str) -> dict[str, Any]:
    queue_name = f"{exchange}.{queue.name}"
    filters = " or ".join(", ".join(f"{k}: {v}" for k, v in wanted.items()) for wanted in queue.header_filters)
    return {
        "action": "receive",
        "title": f"{queue.service} receives {spec.routing_key}",
        "summary": f"{queue.service} consumes {title_of(spec).lower()} from its queue {queue_name}.",
        "description": f"From the durable quorum queue `{queue_name}`, bound to `{spec.routing_key}`"
                       + (f" through a headers exchange letting in only headers {filters}" if filters else "")
                       + ": acknowledged "
                       f"once handled, de-duplicated by event id in {queue.service}'s inbox; after repeated "
                       f"failures a message moves to `{queue_name}.dlq`.",
        **_channel_refs(spec),
        "tags": [{"name": queue.service}],
        "bindings": {"amqp": {"ack": True, "bindingVersion": AMQP_BINDING_VERSION}},
        "x-service": queue.service,
        "x-queue": queue_name,
    }


def operations(exchange: str = DEFAULT_EXCHANGE) -> dict[str, dict[str, Any]]:
    """Every operation of the document by its id: `send.<routing key>` for the publisher of each type,
    `receive.<queue>.<routing key>` for each consumer queue of it."""
    found: dict[str, dict[str, Any]] = {}
    for spec in CATALOGUE.values():
        found[f"send.{spec.routing_key}"] = _send(spec)
        for queue in consumers_of(spec.type):
            found[f"receive.{queue.name}.{spec.routing_key}"] = _receive(spec, queue, exchange)
    return found


def _embedded(schema: dict[str, Any]) -> dict[str, Any]:
    # Inside the document the dialect is the document's schema format; the `$id` stays, naming where the
    # same schema is served on its own.
    return {key: value for key, value in schema.items() if key != "$schema"}


def document(base_url: str, exchange: str = DEFAULT_EXCHANGE) -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document of every event type. `base_url`: the gateway's public address."""
    base_url = base_url.rstrip("/")
    specs = list(CATALOGUE.values())
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "id": "urn:com:smscredits:events",
        "info": {
            "title": "SMS Credits events",
            "version": CONTRACT_VERSION,
            "description": _description(base_url),
            "externalDocs": {"description": "The events, for people", "url": f"{base_url}/api/events"},
            "tags": [{"name": name} for name in sorted({spec.publisher for spec in specs}
                                                       | {queue.service for queue in TOPOLOGY})],
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            "broker": {
                "host": "{host}:{port}",
                "protocol": "amqp",
                "protocolVersion": "0.9.1",
                "title": "The event bus (RabbitMQ)",
                "summary": f"Every event is published to the durable topic exchange `{exchange}`.",
                "description": f"Bind a durable queue of your own to the exchange `{exchange}` (type topic) with "
                               "the routing keys you want; the installation's operators give you the host and "
                               "an account.",
                "variables": {
                    "host": {"description": "The broker's host name.", "default": "localhost"},
                    "port": {"description": "The AMQP port.", "default": "5672"},
                },
            },
        },
        "channels": {spec.routing_key: _channel(spec, exchange) for spec in specs},
        "operations": operations(exchange),
        "components": {
            "schemas": {spec.type: _embedded(event_schema(spec.type)) for spec in specs},
            "messages": {spec.routing_key: _message(spec) for spec in specs},
        },
    }
