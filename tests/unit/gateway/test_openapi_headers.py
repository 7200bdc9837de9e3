"""The document's Idempotency-Key schema says exactly what the gateway accepts: a client (or a fuzzer)
that follows the document is never refused for the key, and one that breaks it always is."""

from __future__ import annotations

import functools
import re
from typing import Any

from aiohttp.test_utils import make_mocked_request
from hypothesis import given, settings
from hypothesis import strategies as st

import gateway.app  # noqa: F401  (registers every route on the registry's Api)
from common.problems import DomainError
from common.web import idempotency_key
from gateway.routes.registry import api


@functools.cache
def _key_schemas() -> list[dict[str, Any]]:
    document = api.document("test", "0")
    return [
        parameter["schema"]
        for path in document["paths"].values()
        for operation in path.values()
        for parameter in operation.get("parameters", [])
        if parameter["name"] == "Idempotency-Key"
    ]


def _document_allows(schema: dict[str, Any], key: str) -> bool:
    return schema["minLength"] <= len(key) <= schema["maxLength"] and re.search(schema["pattern"], key) is not None


def _gateway_accepts(key: str) -> bool:
    try:
        idempotency_key(make_mocked_request("POST", "/", headers={"Idempotency-Key": key}))
    except DomainError:
        return False
    return True


def test_every_write_that_needs_a_key_documents_its_shape():
    schemas = _key_schemas()
    assert len(schemas) >= 4  # transfers, purchases, holds, messages
    assert all(s == schemas[0] for s in schemas)


# Header values are Latin-1 text without control characters.
_HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, blacklist_characters="\x7f\x85"),
                       max_size=230)


@settings(deadline=None)
@given(key=_HEADER_TEXT | st.sampled_from(["", " ", "a", " a", "a ", "a b", "x" * 200, "x" * 201]))
def test_the_document_allows_a_key_exactly_when_the_gateway_accepts_it(key: str):
    schema = _key_schemas()[0]
    assert _document_allows(schema, key) == _gateway_accepts(key), repr(key)
