"""The one registry every public route module declares itself in, and what handlers share."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from common.problems import NotFound
from gateway.web.api import Api, Link
from gateway.web.auth import Caller
from gateway.web.middleware import CALLER

api = Api()


def links_to(*operations: str, **parameters: str) -> tuple[Link, ...]:
    """The same parameters feed each of these operations, e.g. `id="$response.body#/id"`."""
    return tuple(Link(operation, tuple(parameters.items())) for operation in operations)


def caller_of(request: web.Request) -> Caller:
    return request[CALLER]


def no_such(what: str) -> Callable[[], NotFound]:
    """For `common.web.path_uuid`: a malformed id in the path names nothing that exists, 404 like an
    unknown one."""
    return lambda: NotFound(f"No such {what}.")
