"""The public API's route registry: each handler is declared once with its models, and both the
aiohttp routes and the OpenAPI 3.1 document come from that declaration."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from gateway.schemas.credits import Problem

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_PATH_PARAM = re.compile(r"{(\w+)}")

_ERRORS = {
    "400": "Malformed input",
    "401": "No or invalid access token",
    "403": "Known, but not allowed",
    "404": "Unknown, or another tenant's",
    "409": "Idempotency key reused with a different body",
    "422": "A rule is broken",
    "429": "Rate limited",
    "503": "A dependency is down",
}


@dataclass(frozen=True)
class Link:
    """An OpenAPI link: which operation this answer's values feed, and how (runtime expressions such as
    `$response.body#/id`). Clients and API fuzzers follow them from a created thing to its own paths."""

    operation: str  # the target's operationId: its handler's name
    parameters: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    handler: Handler
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    answer: type[BaseModel] | None = None
    answer_is_list: bool = False
    status: int = 200
    content_type: str = "application/json"
    public: bool = False
    headers: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    links: tuple[Link, ...] = ()


@dataclass
class Api:
    prefix: str = "/api/v1"
    operations: list[Operation] = field(default_factory=list)

    def route(
        self, method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"], path: str, summary: str, **options: Any
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.operations.append(Operation(method, self.prefix + path, summary, handler, **options))
            return handler

        return register

    def routes(self) -> list[web.RouteDef]:
        return [web.route(op.method, op.path, op.handler) for op in self.operations]

    def is_public(self, method: str, path: str) -> bool:
        return any(op.public and op.method == method and op.path == path for op in self.operations)

    def document(self, title: str, version: str) -> dict[str, Any]:
        models: set[type[BaseModel]] = {Problem}
        for op in self.operations:
            models.update(m for m in (op.body, op.answer) if m is not None)
        refs, defs = models_json_schema(
            [(m, "validation") for m in sorted(models, key=lambda m: m.__name__)],
            ref_template="#/components/schemas/{model}",
        )
        ref = {model: refs[(model, "validation")] for model in models}
        paths: dict[str, dict[str, Any]] = {}
        for op in self.operations:
            paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, ref)
        return {
            "openapi": "3.1.0",
            "info": {"title": title, "version": version},
            "paths": paths,
            "components": {
                "schemas": defs.get("$defs", {}),
                "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            },
        }


# What common.web.idempotency_key accepts, said in the document so that a client (or a fuzzer) knows
# the key's shape before it is refused: 1 to 200 characters, not all of them whitespace.
_HEADER_SCHEMAS: dict[str, dict[str, Any]] = {
    "Idempotency-Key": {
        "type": "string", "minLength": 1, "maxLength": 200, "pattern": r"\S",
        "description": "The client's own key for this write: sent again with the same body, the write "
                       "takes effect once and the first answer is given again",
    },
}


def _operation(op: Operation, ref: dict[type[BaseModel], dict[str, Any]]) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PATH_PARAM.findall(op.path)
    ]
    if op.query is not None:
        schema = op.query.model_json_schema()
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            parameters.append({"name": name, "in": "query", "required": name in required, "schema": prop})
    parameters += [
        {"name": h, "in": "header", "required": True, "schema": _HEADER_SCHEMAS.get(h, {"type": "string"})}
        for h in op.headers
    ]
    answer: dict[str, Any] = {"description": "Success"}
    if op.answer is not None:
        schema = {"type": "array", "items": ref[op.answer]} if op.answer_is_list else ref[op.answer]
        answer["content"] = {op.content_type: {"schema": schema}}
    elif op.content_type != "application/json":
        answer["content"] = {op.content_type: {"schema": {"type": "string"}}}
    if op.links:
        answer["links"] = {link.operation: {"operationId": link.operation, "parameters": dict(link.parameters)}
                           for link in op.links}
    problem = {"application/problem+json": {"schema": ref[Problem]}}
    responses = {str(op.status): answer}
    responses.update({code: {"description": text, "content": problem} for code, text in _ERRORS.items()})
    document: dict[str, Any] = {
        "summary": op.summary,
        "operationId": op.handler.__name__,
        "parameters": parameters,
        "responses": responses,
    }
    if op.tags:
        document["tags"] = list(op.tags)
    if op.body is not None:
        document["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref[op.body]}}}
    if not op.public:
        document["security"] = [{"bearer": []}]
    return document
