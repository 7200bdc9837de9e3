"""The gateway's own middlewares: who is calling, how much they may, which other sites' pages may call
(CORS), and the headers every answer carries."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from common.problems import DependencyUnavailable
from common.runtime import DB
from common.web import Handler
from gateway.callers import announced, invalidation
from gateway.resources import CALLER_CACHE, LIMITS, OWNER_CACHE, SETTINGS
from gateway.usecases.auth import caller_from_token
from gateway.web import ratelimit
from gateway.web.api import Api
from gateway.web.auth import Caller, SignInRequired, bearer_challenge
from gateway.web.ratelimit import Quota

CALLER = web.RequestKey("caller", Caller)
# Where the caller stands against the limit this request counted against (sign-in, writes).
RATE_LIMIT = web.RequestKey("rate_limit", Quota)
ResponseHook = Callable[[web.Request, web.StreamResponse], Awaitable[None]]

# No inline script or style anywhere, and nothing from another origin: a script injected into a page
# (say through a note shown in the log) cannot run.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)

# CORS: what a page of an allowed origin may send, and which answer headers its script may read.
_CORS_METHODS = "GET, POST, PUT, PATCH, DELETE"
_CORS_REQUEST_HEADERS = "Authorization, Content-Type, Idempotency-Key, If-None-Match, X-Request-ID, Last-Event-ID"
_CORS_EXPOSED_HEADERS = ("Location, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, ETag, "
                         "Idempotent-Replayed, X-Request-ID, WWW-Authenticate, Link")
_CORS_MAX_AGE = "600"


def client_address(request: web.Request) -> str | None:
    """The client's address: the peer's, or what our own trusted proxy says it saw."""
    return ratelimit.client_address(request.remote, request.headers.get("X-Forwarded-For"),
                                    request.app[LIMITS].trusted_proxies)


def authentication_middleware(api: Api) -> Middleware:
    """Every API route needs a valid access token unless it was declared public: secure by default."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        resource = request.match_info.route.resource
        path = resource.canonical if resource is not None else request.path
        # No route or no such method answers 404/405 as it is: there is nothing a token could open there.
        unrouted = request.match_info.http_exception is not None
        if request.path.startswith(api.prefix + "/") and not unrouted and not api.is_public(request.method, path):
            header = request.headers.get("Authorization", "")
            if not header.startswith("Bearer "):
                raise SignInRequired("Sign in first: send 'Authorization: Bearer <access token>'.")
            request[CALLER] = await caller_from_token(
                request.app[DB], header[7:].strip(), request.app[SETTINGS].jwt_secret, request.app[CALLER_CACHE]
            )
        return await handler(request)

    return middleware


@web.middleware
async def own_changes_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The directory changes a request announced make this process forget whom they concern as soon as it
    is answered (its transaction committed), before its client can send the next request: that request sees
    the change here at once; other replicas, when the event reaches them (gateway.callers.announced). Applied
    whatever the outcome: forgetting someone unchanged costs one lookup."""
    with announced.collected() as changes:
        try:
            return await handler(request)
        finally:
            callers, owners = request.app[CALLER_CACHE], request.app[OWNER_CACHE]
            for event in changes:
                invalidation.apply_all((callers, owners), event)


def write_limit_middleware() -> Middleware:
    """Writes per signed-in caller, against runaway clients (runs after authentication)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method in ("POST", "PUT", "PATCH", "DELETE") and CALLER in request:
            request[RATE_LIMIT] = await request.app[LIMITS].write(str(request[CALLER].person.id))
        return await handler(request)

    return middleware


def _allowed_origins(text: str) -> frozenset[str]:
    return frozenset(origin.strip().rstrip("/") for origin in text.split(",") if origin.strip())


def cors_preflight_middleware(origins: str) -> Middleware:
    """A browser asks before it sends another origin's page's request (OPTIONS with
    Access-Control-Request-Method): answered here, before authentication and routing, so a preflight is
    never a 401 or a 405. An origin not allowed gets the 204 with no CORS header, and the browser stops."""
    allowed = _allowed_origins(origins)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if (request.method != "OPTIONS" or origin is None or not request.path.startswith("/api/")
                or "Access-Control-Request-Method" not in request.headers):
            return await handler(request)
        response = web.Response(status=204, headers={"Vary": "Origin"})
        if origin in allowed:
            # The origin itself, never `*`: a wildcard would open the API to every site's pages.
            response.headers.update({
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Methods": _CORS_METHODS,
                "Access-Control-Allow-Headers": _CORS_REQUEST_HEADERS,
                "Access-Control-Max-Age": _CORS_MAX_AGE,
            })
        return response

    return middleware


def api_answer_headers(origins: str) -> ResponseHook:
    """Headers added to every API answer as it is sent (streamed ones included, hence a response hook
    rather than a middleware): CORS for an allowed origin, the limit the request counted against, and
    the `Bearer` challenge a 401 must carry (RFC 9110) where none more precise was given."""
    allowed = _allowed_origins(origins)

    async def hook(request: web.Request, response: web.StreamResponse) -> None:
        if not request.path.startswith("/api/"):
            return
        headers = response.headers
        if allowed and "Access-Control-Allow-Methods" not in headers:
            # The answer depends on the Origin sent: a cache must not give one origin's answer to another.
            vary = headers.get("Vary")
            if vary is None or "origin" not in vary.lower():
                headers["Vary"] = f"{vary}, Origin" if vary else "Origin"
            origin = request.headers.get("Origin")
            if origin in allowed:
                headers["Access-Control-Allow-Origin"] = origin
                headers["Access-Control-Expose-Headers"] = _CORS_EXPOSED_HEADERS
        quota = request.get(RATE_LIMIT)
        if quota is not None and "RateLimit-Limit" not in headers:
            headers.update(quota.headers())
        if response.status == 401 and "WWW-Authenticate" not in headers:
            headers["WWW-Authenticate"] = bearer_challenge()

    return hook


# Streams may legitimately run long (a million-row CSV, the live stream, which ends at its token's
# expiry); everything else answers within the limit.
_UNTIMED_SUFFIXES = (".csv", "/report", "/api/v1/stream")


@web.middleware
async def time_limit_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.endswith(_UNTIMED_SUFFIXES):
        return await handler(request)
    try:
        async with asyncio.timeout(request.app[SETTINGS].request_timeout):
            return await handler(request)
    except TimeoutError:
        raise DependencyUnavailable("The request took too long; please try again.") from None


@web.middleware
async def security_headers_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    if not response.prepared:
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if request.path.startswith("/api/"):
            response.headers.setdefault("Cache-Control", "no-store")
    return response
