"""The OpenAPI document is a contract a client can build on: it validates, it says the rules the server
enforces, each operation lists only the answers it can give, and files are declared as files."""

from __future__ import annotations

import functools
from typing import Any

import pytest
from openapi_spec_validator import validate

import gateway.app  # noqa: F401  (registers every route on the registry's Api)
from gateway.routes.registry import api
from gateway.web.api import default_errors

WRITES = ("post", "put", "patch", "delete")


@functools.cache
def document() -> dict[str, Any]:
    return api.document("SMS Credits API", "1.0.0")


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, ops in document()["paths"].items() for method, op in ops.items()]


def operation(method: str, path: str) -> dict[str, Any]:
    return document()["paths"][path][method]


def query_schema(method: str, path: str, name: str) -> dict[str, Any]:
    [parameter] = [p for p in operation(method, path)["parameters"] if p["in"] == "query" and p["name"] == name]
    return parameter["schema"]


def resolved(schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return document()["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def body_property(method: str, path: str, name: str) -> dict[str, Any]:
    body = operation(method, path)["requestBody"]["content"]["application/json"]["schema"]
    return resolved(body)["properties"][name]


def non_null(schema: dict[str, Any]) -> dict[str, Any]:
    """The one branch of `X | None` that is not null."""
    branches = [s for s in schema.get("anyOf", [schema]) if s.get("type") != "null"]
    assert len(branches) == 1, schema
    return branches[0]


def test_the_document_passes_the_openapi_validator():
    validate(document())  # raises on the first error, e.g. `"default": null` on a field that is never null


def test_a_patch_leaves_out_a_field_rather_than_defaulting_it_to_null():
    user_change = document()["components"]["schemas"]["UserChange"]["properties"]
    for field in ("active", "send_sms", "manage_credits", "role"):
        assert "default" not in user_change[field], field


def test_every_operation_has_a_unique_id():
    ids = [op["operationId"] for _, _, op in operations()]
    assert len(ids) == len(set(ids))


def test_the_log_documents_its_ranges_and_enums():
    assert {k: query_schema("get", "/api/v1/logs", "limit")[k] for k in ("minimum", "maximum")} == {
        "minimum": 1, "maximum": 1000}
    for path in ("/api/v1/logs", "/api/v1/logs.csv", "/api/v1/logs/report"):
        days = query_schema("get", path, "days")
        assert (days["minimum"], days["maximum"], days["default"]) == (1, 30, 30)
        assert set(non_null(query_schema("get", path, "kind"))["enum"]) == {
            "purchase", "transfer", "hold", "capture", "void", "expiry", "mode_change", "refund", "grant",
            "lot_expiry", "delivery_refund"}
        assert set(non_null(query_schema("get", path, "direction"))["enum"]) == {"in", "out"}
        assert non_null(query_schema("get", path, "consistency_token"))["minimum"] == 1


@pytest.mark.parametrize("path", ["/api/v1/logs.csv", "/api/v1/logs/report"])
def test_the_csv_and_the_report_document_no_paging_they_would_ignore(path: str):
    names = {p["name"] for p in operation("get", path)["parameters"]}
    assert not names & {"cursor", "limit"}
    assert {"cursor", "limit"} <= {p["name"] for p in operation("get", "/api/v1/logs")["parameters"]}


def test_purchase_quantities_are_documented_where_they_are_given():
    for schema in (query_schema("get", "/api/v1/quotes", "quantity"),
                   body_property("post", "/api/v1/purchases", "quantity")):
        assert (schema["minimum"], schema["maximum"]) == (100, 1_000_000)
    assert body_property("post", "/api/v1/transfers", "quantity")["minimum"] == 1


def test_formats_and_lengths_are_documented():
    assert body_property("post", "/api/v1/transfers", "from_account")["format"] == "uuid"
    assert non_null(body_property("post", "/api/v1/transfers", "note"))["maxLength"] == 500
    assert body_property("post", "/api/v1/auth/token", "email")["maxLength"] == 254
    assert body_property("post", "/api/v1/users", "email")["pattern"] == r"^[^@\s]+@[^@\s]+$"
    assert non_null(query_schema("get", "/api/v1/accounts/{id}", "as_of"))["format"] == "date-time"
    assert resolved(document()["components"]["schemas"]["PurchaseView"])["properties"]["id"]["format"] == "uuid"
    assert non_null(query_schema("get", "/api/v1/logs", "account"))["items"]["format"] == "uuid"
    [external] = [p for p in operation("put", "/api/v1/directory/users/{external_id}")["parameters"]
                  if p["in"] == "path"]
    assert external["schema"]["maxLength"] == 200 and "format" not in external["schema"]


def test_no_read_lists_a_conflict_and_no_public_operation_an_auth_failure():
    for method, path, op in operations():
        statuses = set(op["responses"])
        if method == "get":
            assert "409" not in statuses, path
        # Signing in, renewing and signing out are public and refuse bad credentials with 401.
        if "security" not in op and not path.startswith("/api/v1/auth/"):
            assert not statuses & {"401", "403"}, (method, path)


def test_only_writes_with_an_idempotency_key_list_a_conflict_by_default():
    for op in api.operations:
        if op.errors is None:
            takes_key = "Idempotency-Key" in op.headers + op.optional_headers
            assert (409 in default_errors(op)) == (op.method != "GET" and takes_key)


def test_each_operation_lists_only_what_it_can_answer():
    assert set(operation("get", "/api/v1/me/sessions")["responses"]) == {"200", "401", "503"}
    assert set(operation("delete", "/api/v1/me/sessions/{id}")["responses"]) == {"204", "401", "404", "429", "503"}
    assert set(operation("post", "/api/v1/auth/token")["responses"]) == {
        "200", "400", "401", "413", "415", "429", "503"}
    assert set(operation("post", "/api/v1/auth/password-reset")["responses"]) == {
        "202", "400", "413", "415", "429", "503"}
    assert set(operation("get", "/api/v1/terms")["responses"]) == {"200", "401", "503"}
    # Nothing in the path, nothing to find: no 404; a read with no input: no 400.
    assert not {"400", "404"} & set(operation("get", "/api/v1/accounts")["responses"])
    # Every error answer is a problem.
    for _, _, op in operations():
        for status, answer in op["responses"].items():
            if int(status) >= 400:
                assert list(answer["content"]) == ["application/problem+json"]


def test_account_reads_document_their_etag_answer():
    for path in ("/api/v1/accounts", "/api/v1/accounts/{id}"):
        read = operation("get", path)
        assert read["responses"]["304"] == {"description": read["responses"]["304"]["description"]}
        assert any(p["name"] == "If-None-Match" and not p["required"] for p in read["parameters"])


def test_refunds_document_their_key_and_their_202():
    refund = operation("post", "/api/v1/purchases/{id}/refunds")
    [key] = [p for p in refund["parameters"] if p["name"] == "Idempotency-Key"]
    assert key["in"] == "header" and key["schema"]["maxLength"] == 200
    assert {"201", "202", "409"} <= set(refund["responses"])
    assert refund["responses"]["202"]["content"] == refund["responses"]["201"]["content"]


@pytest.mark.parametrize(("path", "content_type"), [
    ("/api/v1/purchases/{id}/invoice.pdf", "application/pdf"),
    ("/api/v1/purchases/{id}/refunds/{refund_id}/adjustment-note.pdf", "application/pdf"),
    ("/api/v1/logs/report", "application/pdf"),
    ("/checkout/{session}/invoice.pdf", "application/pdf"),
])
def test_binary_answers_are_declared_as_bytes(path: str, content_type: str):
    assert operation("get", path)["responses"]["200"]["content"][content_type]["schema"] == {
        "type": "string", "format": "binary"}


@pytest.mark.parametrize(("path", "content_type"), [
    ("/api/v1/logs.csv", "text/csv"), ("/api/v1/logs/report", "text/html")])
def test_text_files_are_declared_as_text(path: str, content_type: str):
    assert operation("get", path)["responses"]["200"]["content"][content_type]["schema"] == {"type": "string"}


def test_the_checkout_a_client_pays_on_is_documented():
    pay = operation("post", "/checkout/{session}")
    assert pay["tags"] == ["checkout"] and "security" not in pay
    assert resolved(pay["requestBody"]["content"]["application/json"]["schema"])["required"] == [
        "card_number", "exp_month", "exp_year", "cvc", "name"]
    assert "application/json" in pay["responses"]["200"]["content"]
    # Documented, but served by the pages module: not mounted twice.
    assert all(not route.path.startswith("/checkout") for route in api.routes())
