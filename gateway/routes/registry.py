"""The one registry every public route module declares itself in, and what handlers share."""

from __future__ import annotations

import uuid

from aiohttp import web

from common.problems import NotFound
from gateway.api import Api, Link
from gateway.auth import Caller
from gateway.middleware import CALLER

api = Api()


def links_to(*operations: str, **parameters: str) -> tuple[Link, ...]:
    """The same parameters feed each of these operations, e.g. `id="$response.body#/id"`."""
    return tuple(Link(operation, tuple(parameters.items())) for operation in operations)


def caller_of(request: web.Request) -> Caller:
    return request[CALLER]


def path_uuid(request: web.Request, what: str = "resource") -> uuid.UUID:
    """A malformed id in the path names nothing that exists: 404, like an unknown one."""
    try:
        return uuid.UUID(request.match_info["id"])
    except ValueError:
        raise NotFound(f"No such {what}.") from None
