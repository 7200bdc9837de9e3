"""The published event contract: the AsyncAPI document is valid against the official AsyncAPI 3.0.0 JSON
Schema (from the npm package `@asyncapi/specs`, pinned in tools/asyncapi), describes every catalogued type
and every consumer queue, and each type's envelope schema accepts its example and refuses broken ones."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator, FormatChecker
from jsonschema.validators import validator_for

from common.contracts import events
from common.contracts.asyncapi import UnknownEventType, document, event_schema, subject_regex
from common.contracts.catalogue import CATALOGUE
from common.contracts.event_examples import PAYLOADS, example_event
from common.contracts.events import Event
from common.contracts.queues import TOPOLOGY

ROOT = Path(__file__).resolve().parents[3]
OFFICIAL_SCHEMA = ROOT / "tools/asyncapi/node_modules/@asyncapi/specs/schemas/3.0.0.json"
BASE = "https://credits.example.test"
LEDGER_TYPE = events.TRANSACTION_POSTED


@pytest.fixture(scope="module")
def official() -> Draft7Validator:
    if not OFFICIAL_SCHEMA.exists():
        pytest.fail(f"{OFFICIAL_SCHEMA.relative_to(ROOT)} is missing: run `make asyncapi-specs` "
                    "(npm ci in tools/asyncapi)")
    schema = json.loads(OFFICIAL_SCHEMA.read_text())
    # The official schema is draft-07; every `$ref` in it names a definition bundled in the same file (by
    # its `$id`) or the draft-07 meta-schema, which jsonschema carries: nothing is fetched.
    assert schema["$schema"].startswith("http://json-schema.org/draft-07/schema")
    assert validator_for(schema) is Draft7Validator
    return Draft7Validator(schema)


@pytest.fixture(scope="module")
def published() -> dict[str, Any]:
    return document(BASE)


def _envelope_validator(event_type: str) -> Draft7Validator:
    return Draft7Validator(event_schema(event_type), format_checker=FormatChecker())


def _violations(event_type: str, envelope: Any) -> list[str]:
    return [error.message for error in _envelope_validator(event_type).iter_errors(envelope)]


def test_the_document_is_valid_against_the_official_asyncapi_3_0_0_schema(
    official: Draft7Validator, published: dict[str, Any]
) -> None:
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in official.iter_errors(published)]

    assert errors == []
    assert published["asyncapi"] == "3.0.0"


@pytest.mark.parametrize("breakage", ["asyncapi 2 action", "unknown exchange type", "message without payload ref"])
def test_the_official_schema_catches_a_broken_document(
    official: Draft7Validator, published: dict[str, Any], breakage: str
) -> None:
    broken = copy.deepcopy(published)
    key = events.routing_key(LEDGER_TYPE)
    if breakage == "asyncapi 2 action":
        broken["operations"][f"send.{key}"]["action"] = "publish"
    elif breakage == "unknown exchange type":
        broken["channels"][key]["bindings"]["amqp"]["exchange"]["type"] = "round-robin"
    else:
        broken["components"]["messages"][key]["payload"] = "the envelope"

    assert list(official.iter_errors(broken)), breakage


def _pointer(document: dict[str, Any], reference: str) -> Any:
    node: Any = document
    for part in reference.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _references(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [ref for value in node.values() for ref in _references(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _references(value)]
    return []


def test_every_reference_in_the_document_resolves_within_it(published: dict[str, Any]) -> None:
    references = _references(published)

    assert len(references) > 3 * len(CATALOGUE)
    for reference in references:
        assert reference.startswith("#/"), reference
        assert isinstance(_pointer(published, reference), dict), reference


def test_every_type_has_a_channel_message_schema_and_its_publisher_send_operation(published: dict[str, Any]) -> None:
    for event_type, spec in CATALOGUE.items():
        key = spec.routing_key
        channel = published["channels"][key]
        assert channel["address"] == key
        assert channel["bindings"]["amqp"]["exchange"] == {
            "name": "sms-credits", "type": "topic", "durable": True, "autoDelete": False, "vhost": "/"}
        message = published["components"]["messages"][key]
        assert message["payload"] == {"$ref": f"#/components/schemas/{event_type}"}
        assert message["contentType"] == "application/cloudevents+json"
        assert message["examples"][0]["payload"] == example_event(event_type)
        assert published["components"]["schemas"][event_type]["$id"] == events.schema_url(event_type)
        send = published["operations"][f"send.{key}"]
        assert (send["action"], send["x-service"]) == ("send", spec.publisher)
        assert send["channel"] == {"$ref": f"#/channels/{key}"}


def test_receive_operations_are_exactly_the_consumer_queues_of_the_topology(published: dict[str, Any]) -> None:
    receives = {(op["x-service"], op["x-queue"], op["channel"]["$ref"].removeprefix("#/channels/"))
                for op in published["operations"].values() if op["action"] == "receive"}
    expected = {(queue.service, f"sms-credits.{queue.name}", events.routing_key(event_type))
                for queue in TOPOLOGY for event_type in queue.types}

    assert receives == expected
    assert ("reporting", "sms-credits.reporting.ledger-events", "ledger.transaction.posted") in receives


def test_the_exchange_and_base_url_are_the_installations(published: dict[str, Any]) -> None:
    other = document("http://127.0.0.1:9999/", exchange="e2e-run")

    assert other["channels"]["billing.purchase.paid"]["bindings"]["amqp"]["exchange"]["name"] == "e2e-run"
    assert other["info"]["externalDocs"]["url"] == "http://127.0.0.1:9999/api/events"
    assert "http://127.0.0.1:9999/api/v1/events?after_sequence=N" in other["info"]["description"]
    assert ".v2" in published["info"]["description"] and "90 days" in published["info"]["description"]


def test_every_type_has_an_example_payload_its_model_accepts() -> None:
    assert set(PAYLOADS) == set(CATALOGUE) == events.TYPES
    for event_type, payload in PAYLOADS.items():
        model = CATALOGUE[event_type].payload
        assert type(payload) is model, event_type
        assert model.model_validate(payload.model_dump(mode="json")) == payload


@pytest.mark.parametrize("event_type", sorted(CATALOGUE))
def test_each_example_envelope_validates_against_its_schema(event_type: str) -> None:
    envelope = example_event(event_type)

    assert _violations(event_type, envelope) == []
    assert Event.from_json(json.dumps(envelope).encode()).type == event_type
    assert ("sequence" in envelope) is CATALOGUE[event_type].sequenced


@pytest.mark.parametrize("event_type", sorted(CATALOGUE))
def test_each_schema_is_draft_07_self_contained_and_named_by_its_url(event_type: str) -> None:
    schema = event_schema(event_type)

    Draft7Validator.check_schema(schema)
    assert schema["$id"] == events.schema_url(event_type)
    assert "$ref" not in json.dumps(schema) and "$defs" not in json.dumps(schema)
    assert schema["properties"]["type"]["const"] == event_type
    assert schema["properties"]["source"]["const"] == CATALOGUE[event_type].source


def _broken(envelope: dict[str, Any], breakage: str) -> dict[str, Any]:
    broken = copy.deepcopy(envelope)
    match breakage:
        case "another type":
            broken["type"] = events.PURCHASE_PAID
        case "unnamespaced type":
            broken["type"] = events.routing_key(broken["type"])
        case "another source":
            broken["source"] = "billing"
        case "a data field missing":
            del broken["data"]["postings"]
        case "a data field of the wrong kind":
            broken["data"]["postings"][0]["amount"] = "1200"
        case "an id that is not a uuid":
            broken["id"] = "12345"
        case "no time":
            del broken["time"]
        case "a time that is not RFC 3339":
            broken["time"] = "yesterday"
        case "the subject of another shape":
            broken["subject"] = "tenant/" + broken["data"]["tenant_id"]
        case "no sequence on a ledger event":
            del broken["sequence"]
        case "a sequence not zero-padded":
            broken["sequence"] = "42"
        case "another type's dataschema":
            broken["dataschema"] = events.schema_url(events.PURCHASE_PAID)
        case "another spec version":
            broken["specversion"] = "0.3"
        case "an extension attribute CloudEvents cannot name":
            broken["Request-Id"] = "x"
    return broken


@pytest.mark.parametrize("breakage", [
    "another type", "unnamespaced type", "another source", "a data field missing", "a data field of the wrong kind",
    "an id that is not a uuid", "no time", "a time that is not RFC 3339", "the subject of another shape",
    "no sequence on a ledger event", "a sequence not zero-padded", "another type's dataschema",
    "another spec version", "an extension attribute CloudEvents cannot name",
])
def test_a_broken_envelope_is_refused_by_its_schema(breakage: str) -> None:
    envelope = example_event(LEDGER_TYPE)
    assert _violations(LEDGER_TYPE, envelope) == []

    assert _violations(LEDGER_TYPE, _broken(envelope, breakage)) != [], breakage


def test_an_example_of_one_type_does_not_pass_as_another() -> None:
    for event_type in CATALOGUE:
        for other in CATALOGUE:
            if other != event_type:
                assert _violations(other, example_event(event_type)), (event_type, other)


def test_an_envelope_may_gain_optional_fields_and_extensions_as_the_versioning_policy_allows() -> None:
    envelope = example_event(LEDGER_TYPE)
    envelope["data"]["channel"] = "api"
    envelope["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

    assert _violations(LEDGER_TYPE, envelope) == []


def test_the_subject_pattern_becomes_an_anchored_regex_of_ids() -> None:
    regex = re.compile(subject_regex("tenants/{tenant_id}/accounts/{account_id}"))
    tenant, account = "5b0f3c9e-2d4a-4c1b-8e7f-1a2b3c4d5e60", "3f8e1d20-7b6a-4c59-8d4e-5f6a7b8c9d03"

    assert regex.match(f"tenants/{tenant}/accounts/{account}")
    assert not regex.match(f"tenants/{tenant}")
    assert not regex.match(f"tenants/{tenant}/accounts/{account}/extra")
    assert not regex.match(f"tenants/acme/accounts/{account}")
    with pytest.raises(ValueError, match="escaped"):
        subject_regex("tenants/{tenant_id}/a.b")


def test_an_unknown_type_has_no_schema() -> None:
    with pytest.raises(UnknownEventType):
        event_schema("com.smscredits.ledger.nothing.happened")
