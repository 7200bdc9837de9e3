"""The HTTP plumbing every service shares: request ids, problem+json errors, metrics, health, and
parsing of JSON bodies and queries into pydantic models."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.typedefs import Middleware
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from pydantic import BaseModel, ValidationError

from common.contracts import problems
from common.contracts.problems import ProblemType
from common.db import DATABASE_UNAVAILABLE
from common.identity import Identity, InvalidInternalToken, verify_internal_token
from common.logs import get_logger, request_context
from common.problems import (
    Conflict,
    DependencyUnavailable,
    DomainError,
    Forbidden,
    MalformedRequest,
    NotFound,
    RuleBroken,
    TooManyRequests,
    Unauthenticated,
    UnsupportedMediaType,
)

log = get_logger(__name__)

PROBLEM_JSON = "application/problem+json"
REQUEST_ID_HEADER = "X-Request-ID"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ModelT = TypeVar("ModelT", bound=BaseModel)
ReadinessCheck = Callable[[], Awaitable[None]]

HTTP_REQUESTS = Counter(
    "http_requests_total", "HTTP requests answered", ["service", "method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds", "HTTP request latency", ["service", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)

IDENTITY = web.RequestKey("identity", Identity)  # the caller's verified identity
# The key a write passes on, where the edge derived one from the client's (the gateway scopes the client's
# key to the caller and endpoint): `idempotency_key` answers it instead of the header.
IDEMPOTENCY_KEY = web.RequestKey("idempotency_key", str)
JSON_MEDIA_TYPE = "application/json"


# The web edge decides what status each kind of domain error answers; the domain only names the kind.
_STATUS_OF_KIND: tuple[tuple[type[DomainError], int], ...] = (
    (MalformedRequest, 400),
    (UnsupportedMediaType, 415),
    (Unauthenticated, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (RuleBroken, 422),
    (TooManyRequests, 429),
    (DependencyUnavailable, 503),
)

# A framework refusal (no route, wrong method, body too large, ...): its catalogued type, and a plain
# sentence where aiohttp's own text would read "404: Not Found".
_FRAMEWORK_PROBLEMS: dict[int, tuple[ProblemType, str]] = {
    400: (problems.MALFORMED_REQUEST, "The request is malformed."),
    401: (problems.UNAUTHENTICATED, "Authentication is required."),
    403: (problems.FORBIDDEN, "This is not allowed."),
    404: (problems.NOT_FOUND, "There is nothing at this address."),
    405: (problems.METHOD_NOT_ALLOWED, "This address does not accept that method; see the Allow header."),
    409: (problems.CONFLICT, "The request conflicts with the current state."),
    413: (problems.REQUEST_TOO_LARGE, "The request body is too large."),
    415: (problems.UNSUPPORTED_MEDIA_TYPE, "The body's media type is not accepted; send application/json."),
    429: (problems.RATE_LIMITED, "Too many requests; please slow down."),
    503: (problems.UNAVAILABLE, "The service is unavailable; please try again shortly."),
}


def _route_label(request: web.Request) -> str:
    route = request.match_info.route
    resource = route.resource if route is not None else None
    return resource.canonical if resource is not None else "unmatched"


def observability_middleware(service: str) -> Middleware:
    """Request id in, request id out, one metric sample per request, errors as problem+json."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        with request_context(request.headers.get(REQUEST_ID_HEADER)) as request_id:
            started = time.perf_counter()
            response = await _answer(request, handler)
            route = _route_label(request)
            HTTP_REQUESTS.labels(service, request.method, route, str(response.status)).inc()
            HTTP_LATENCY.labels(service, route).observe(time.perf_counter() - started)
            if not response.prepared:
                response.headers[REQUEST_ID_HEADER] = request_id
            return response

    return middleware


def status_of(error: DomainError) -> int:
    """The HTTP status of a domain error: its own where it relays one (an upstream answer), else its kind's."""
    relayed = getattr(error, "status", None)
    if isinstance(relayed, int):
        return relayed
    for kind, status in _STATUS_OF_KIND:
        if isinstance(error, kind):
            return status
    return 422


def problem_body(
    status: int, problem: ProblemType, detail: str, errors: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"/problems/{problem.slug}", "title": problem.title, "status": status, "detail": detail
    }
    if errors:
        body["errors"] = errors
    return body


def problem_response(
    status: int,
    problem: ProblemType,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    return web.json_response(
        problem_body(status, problem, detail, errors), status=status, content_type=PROBLEM_JSON, headers=headers
    )


def from_error(error: DomainError) -> web.Response:
    return problem_response(status_of(error), error.problem, error.detail, error.errors, error.headers)


async def _answer(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except DomainError as error:
        return from_error(error)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return framework_problem(exc)
    except asyncio.CancelledError:
        raise
    except DATABASE_UNAVAILABLE as exc:
        # Postgres restarting or unreachable: nothing the client sent is wrong, and a retry will do.
        log.warning("database_unavailable", method=request.method, path=request.path, error=repr(exc))
        return from_error(DependencyUnavailable("The service's database is unavailable; please try again shortly."))
    except Exception:
        log.exception("unhandled_error", method=request.method, path=request.path)
        return problem_response(500, problems.INTERNAL, "Something went wrong on our side; it has been logged.")


def framework_problem(exc: web.HTTPException) -> web.Response:
    """aiohttp's own refusal as problem+json: its catalogued type and a plain detail (the framework's text
    only where it says more than "<status>: <reason>", e.g. the body size limit it met)."""
    fallback = problems.MALFORMED_REQUEST if exc.status < 500 else problems.INTERNAL
    problem, detail = _FRAMEWORK_PROBLEMS.get(exc.status, (fallback, exc.reason))
    text = exc.text or ""
    if text and not text.startswith(f"{exc.status}:"):
        detail = text
    if exc.status == 405 and "Allow" in exc.headers:
        detail = f"This address does not accept that method; it accepts {exc.headers['Allow']}."
    return problem_response(
        exc.status, problem, detail,
        headers={k: v for k, v in exc.headers.items() if k in ("Allow", "Retry-After")},
    )


def internal_auth_middleware(secret: str, audience: str, public_prefixes: tuple[str, ...] = ()) -> Middleware:
    """Services accept only calls carrying the gateway's signed identity (health and metrics aside)."""
    open_paths = ("/healthz", "/readyz", "/metrics", *public_prefixes)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(open_paths):
            header = request.headers.get("Authorization", "")
            if not header.startswith("Bearer "):
                raise Unauthenticated("An internal token is required.")
            try:
                request[IDENTITY] = verify_internal_token(header[7:], secret, audience)
            except InvalidInternalToken as exc:
                raise Unauthenticated("The internal token is not valid.") from exc
        return await handler(request)

    return middleware


def identity_of(request: web.Request) -> Identity:
    return request[IDENTITY]


def path_uuid(
    request: web.Request, name: str = "id", not_found: Callable[[], DomainError] | None = None
) -> uuid.UUID:
    """The id in the path segment `name`. A malformed id names nothing that exists, so it answers the
    same 404 as an unknown one (or another tenant's): `not_found()` builds that error."""
    try:
        return uuid.UUID(request.match_info[name])
    except ValueError:
        raise (not_found() if not_found is not None else NotFound("There is no such resource.")) from None


def idempotency_key(request: web.Request) -> str:
    """The client's key for a write that must take effect once, however often it is sent (the key the
    edge derived from it, where it did)."""
    if IDEMPOTENCY_KEY in request:
        return request[IDEMPOTENCY_KEY]
    sent = request.headers.get("Idempotency-Key", "")
    key = sent.strip()
    # Measured as sent (HTTP itself drops whitespace around a header's value), so that the rule is the
    # one the OpenAPI document states: at most 200 characters, not all of them whitespace.
    if not key or len(sent) > 200:
        raise MalformedRequest("An Idempotency-Key header (1 to 200 characters) is required.")
    return key


def optional_idempotency_key(request: web.Request) -> str | None:
    """The key of a write where sending one is optional: None when none was sent."""
    if IDEMPOTENCY_KEY not in request and not request.headers.get("Idempotency-Key", "").strip():
        return None
    return idempotency_key(request)


def _require_json(request: web.Request) -> None:
    """A body sent as another media type (text/plain, a form) is refused with 415; one sent with no
    Content-Type at all is read as JSON, as it always was."""
    sent = request.headers.get("Content-Type")
    if sent is None:
        return
    media_type = sent.split(";", 1)[0].strip().lower()
    if media_type == JSON_MEDIA_TYPE or (media_type.startswith("application/") and media_type.endswith("+json")):
        return
    error = UnsupportedMediaType(
        f"The body must be JSON (Content-Type: {JSON_MEDIA_TYPE}), not {media_type or 'empty'}."
    )
    accept = {"POST": "Accept-Post", "PATCH": "Accept-Patch"}.get(request.method)
    if accept is not None:
        error.headers = {accept: JSON_MEDIA_TYPE}
    raise error


def _errors_of(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {"field": ".".join(str(p) for p in e["loc"]) or "(body)", "message": e["msg"]} for e in exc.errors()
    ]


async def parse_json(request: web.Request, model: type[ModelT]) -> ModelT:
    try:
        raw = await request.read()
        if raw:
            _require_json(request)
        data = json.loads(raw) if raw else None
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedRequest("The body is not valid JSON.") from exc
    except RecursionError:
        # `[[[[...` a few thousand deep fits in any body size limit and exhausts the parser's stack.
        raise MalformedRequest("The body is nested too deeply.") from None
    return validate(model, data)


def parse_query(request: web.Request, model: type[ModelT], repeatable: tuple[str, ...] = ()) -> ModelT:
    data: dict[str, Any] = {}
    for key in request.query:
        data[key] = request.query.getall(key) if key in repeatable else request.query[key]
    return validate(model, data)


def _holds_nul(data: Any) -> bool:
    """Whether any text in decoded JSON, keys included, holds U+0000 (walked without recursion)."""
    pending = [data]
    while pending:
        item = pending.pop()
        if isinstance(item, str) and "\x00" in item:
            return True
        if isinstance(item, dict):
            pending += [*item.keys(), *item.values()]
        elif isinstance(item, list):
            pending += item
    return False


def validate(model: type[ModelT], data: Any) -> ModelT:
    # Valid JSON and valid for the model, but Postgres stores no NUL in text: refused here, it would
    # otherwise fail the write deep in a service and answer 500.
    if _holds_nul(data):
        raise MalformedRequest("Text may not contain the NUL character (U+0000).")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise MalformedRequest(
            "The request does not have the expected shape.", errors=_errors_of(exc)
        ) from exc


def json_response(model: BaseModel | Sequence[BaseModel], status: int = 200) -> web.Response:
    if not isinstance(model, BaseModel):
        body = "[" + ",".join(m.model_dump_json() for m in model) + "]"
    else:
        body = model.model_dump_json()
    return web.Response(text=body, status=status, content_type="application/json")


def health_routes(checks: dict[str, ReadinessCheck]) -> list[web.RouteDef]:
    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(_: web.Request) -> web.Response:
        # All at once: a load balancer's check waits for the slowest, not for the sum (the gateway asks each
        # service behind it, and a balancer that waits too long takes every replica out at once).
        names = list(checks)
        outcomes = await asyncio.gather(*(asyncio.wait_for(checks[name](), timeout=2) for name in names),
                                        return_exceptions=True)
        failing = {name: type(outcome).__name__ for name, outcome in zip(names, outcomes, strict=True)
                   if isinstance(outcome, BaseException)}
        if failing:
            return problem_response(
                503, problems.NOT_READY, "Dependencies are unreachable: " + ", ".join(sorted(failing))
            )
        return web.json_response({"status": "ready", "checks": sorted(checks)})

    async def metrics(_: web.Request) -> web.Response:
        return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    return [web.get("/healthz", healthz), web.get("/readyz", readyz), web.get("/metrics", metrics)]
