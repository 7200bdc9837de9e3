"""The gateway's own middlewares: who is calling, and the headers every answer carries."""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.typedefs import Middleware

from common.problems import DependencyUnavailable, Unauthenticated
from common.runtime import DB
from common.web import Handler
from gateway import usecases
from gateway.api import Api
from gateway.auth import Caller
from gateway.resources import LIMITS, SETTINGS

CALLER = web.RequestKey("caller", Caller)

# No inline script or style anywhere, and nothing from another origin: a script injected into a page
# (say through a note shown in the log) cannot run.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


def authentication_middleware(api: Api) -> Middleware:
    """Every API route needs a valid access token unless it was declared public: secure by default."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        resource = request.match_info.route.resource
        path = resource.canonical if resource is not None else request.path
        if request.path.startswith(api.prefix + "/") and not api.is_public(request.method, path):
            header = request.headers.get("Authorization", "")
            if not header.startswith("Bearer "):
                raise Unauthenticated("Sign in first: send 'Authorization: Bearer <access token>'.")
            request[CALLER] = await usecases.caller_from_token(
                request.app[DB], header[7:].strip(), request.app[SETTINGS].jwt_secret
            )
        return await handler(request)

    return middleware


def write_limit_middleware() -> Middleware:
    """Writes per signed-in caller, against runaway clients (runs after authentication)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method in ("POST", "PUT", "PATCH", "DELETE") and CALLER in request:
            await request.app[LIMITS].write(str(request[CALLER].person.id))
        return await handler(request)

    return middleware


# Streams may legitimately run long (a million-row CSV); everything else answers within the limit.
_UNTIMED_SUFFIXES = (".csv", "/report")


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
