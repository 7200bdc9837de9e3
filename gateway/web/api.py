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
    400: "Malformed input",
    401: "No or invalid access token",
    403: "Known, but not allowed",
    404: "Unknown, or another tenant's",
    409: "Idempotency key reused with a different body",
    413: "The body is too large",
    415: "The body is not JSON",
    422: "A rule is broken",
    429: "Rate limited",
    503: "A dependency is down, or the request took too long",
}
_WRITES = ("POST", "PUT", "PATCH", "DELETE")
# What every operation may answer whatever its handler does: 503 (a database or service unreachable, or
# the gateway's time limit), and for one with a body 413 (over the size limit) and 415 (not JSON).
_ANY_OPERATION = (503,)
_ANY_BODY = (413, 415)


def default_errors(op: Operation) -> tuple[int, ...]:
    """The error answers an operation declared without `errors=` may give, from its shape: malformed
    input (400) only where it takes some, 401/403 only where it needs a token, 404 only for a thing named
    in the path, 409 only for a write with an Idempotency-Key, 422 for a write or a query (the rules
    the services check), 429 for a signed-in caller's write (the write limit). A GET never lists 409."""
    path_params = bool(_PATH_PARAM.search(op.path))
    headers = op.headers + op.optional_headers
    codes = {
        400: op.body is not None or op.query is not None or bool(headers),
        401: not op.public,
        403: not op.public,
        404: path_params,
        409: op.method in _WRITES and "Idempotency-Key" in headers,
        422: op.method in _WRITES or op.query is not None,
        429: op.method in _WRITES and not op.public,
    }
    return tuple(code for code, applies in codes.items() if applies)


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
    body_required: bool = True  # False where an empty body means the model's defaults
    query: type[BaseModel] | None = None
    answer: type[BaseModel] | None = None
    answer_is_list: bool = False
    status: int = 200
    content_type: str = "application/json"
    public: bool = False
    headers: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    links: tuple[Link, ...] = ()
    # The error statuses this operation can answer, where its handler knows better than the default
    # (`default_errors`); 503, and 413/415 for one with a body, are added to either.
    errors: tuple[int, ...] | None = None
    # Further success answers, e.g. a refund's 202 while it is under way: status -> description.
    also: tuple[tuple[int, str], ...] = ()
    optional_headers: tuple[str, ...] = ()
    # False for a page served by its own module (the hosted checkout) that API clients call too: in the
    # document, not among `routes()`.
    mounted: bool = True

    def error_statuses(self) -> list[int]:
        declared = default_errors(self) if self.errors is None else self.errors
        extra = _ANY_OPERATION + (_ANY_BODY if self.body is not None else ())
        return sorted(set(declared) | set(extra))


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

    def page(self, method: str, path: str, summary: str, handler: Handler, **options: Any) -> None:
        """Document a page outside the prefix that a client calls with JSON (its route is its module's)."""
        self.operations.append(Operation(method, path, summary, handler, mounted=False, **options))

    def routes(self) -> list[web.RouteDef]:
        return [web.route(op.method, op.path, op.handler) for op in self.operations if op.mounted]

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
    "If-None-Match": {
        "type": "string",
        "description": "The ETag of the answer the client has: 304 and no body if it is still current",
    },
}


# The CRM's own ids, as gateway.routes.onboarding takes them: 1 to 200 characters, not all blank.
_PATH_SCHEMAS: dict[str, dict[str, Any]] = {
    "external_id": {"type": "string", "minLength": 1, "maxLength": 200,
                    "pattern": r"^[^\u0000-\u001f]*\S[^\u0000-\u001f]*$"},
}


def _file_schema(content_type: str) -> dict[str, Any]:
    """A file answered as it is: text (a CSV, an HTML report) as a string, anything else (a PDF) as bytes,
    so that a generated client hands it over as it came."""
    if content_type.startswith("text/"):
        return {"type": "string"}
    return {"type": "string", "format": "binary"}


def _path_schema(name: str) -> dict[str, Any]:
    """A path segment is any text to the server: an id that is not a UUID names nothing, so it answers 404
    like an unknown one (never 400), and `/messages/preview` is a route of its own beside `/messages/{id}`.
    So ids are documented as text that is a UUID where it names something, not as `format: uuid`."""
    if name in _PATH_SCHEMAS:
        return _PATH_SCHEMAS[name]
    if name == "id" or name.endswith("_id"):
        return {"type": "string", "description": "A UUID (anything else names nothing: 404)"}
    return {"type": "string"}


def _operation(op: Operation, ref: dict[type[BaseModel], dict[str, Any]]) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": _path_schema(name)}
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
    parameters += [
        {"name": h, "in": "header", "required": False, "schema": _HEADER_SCHEMAS.get(h, {"type": "string"})}
        for h in op.optional_headers
    ]
    answer: dict[str, Any] = {"description": "Success"}
    if op.answer is not None:
        schema = {"type": "array", "items": ref[op.answer]} if op.answer_is_list else ref[op.answer]
        answer["content"] = {op.content_type: {"schema": schema}}
    elif op.content_type != "application/json":
        answer["content"] = {kind.strip(): {"schema": _file_schema(kind.strip())}
                             for kind in op.content_type.split(",")}
    if op.links:
        answer["links"] = {link.operation: {"operationId": link.operation, "parameters": dict(link.parameters)}
                           for link in op.links}
    problem = {"application/problem+json": {"schema": ref[Problem]}}
    responses = {str(op.status): answer}
    for status, text in op.also:
        # A 304 is the answer the client already has: no body.
        responses[str(status)] = {"description": text} if status == 304 else {**answer, "description": text}
    responses.update({str(code): {"description": _ERRORS[code], "content": problem} for code in op.error_statuses()})
    document: dict[str, Any] = {
        "summary": op.summary,
        "operationId": op.handler.__name__,
        "parameters": parameters,
        "responses": responses,
    }
    if op.tags:
        document["tags"] = list(op.tags)
    if op.body is not None:
        document["requestBody"] = {
            "required": op.body_required, "content": {"application/json": {"schema": ref[op.body]}}
        }
    if not op.public:
        document["security"] = [{"bearer": []}]
    return document
