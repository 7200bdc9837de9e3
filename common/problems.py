"""Errors as RFC 9457 problem details. Domains raise these classes; one middleware renders them."""

from __future__ import annotations

from typing import Any

from aiohttp import web

PROBLEM_JSON = "application/problem+json"


class DomainError(Exception):
    """A request that cannot be carried out as asked. Subclasses set the HTTP status and type."""

    status = 422
    title = "The request breaks a rule"
    slug = "rule-broken"

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None, slug: str | None = None):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.headers: dict[str, str] | None = None  # e.g. Retry-After on a 429
        if slug:
            self.slug = slug


class MalformedRequest(DomainError):
    status, title, slug = 400, "Malformed request", "malformed-request"


class Unauthenticated(DomainError):
    status, title, slug = 401, "Authentication required", "unauthenticated"


class Forbidden(DomainError):
    status, title, slug = 403, "Not allowed", "forbidden"


class NotFound(DomainError):
    status, title, slug = 404, "Not found", "not-found"


class Conflict(DomainError):
    status, title, slug = 409, "Conflict", "conflict"


class RuleBroken(DomainError):
    status, title, slug = 422, "The request breaks a rule", "rule-broken"


class TooManyRequests(DomainError):
    status, title, slug = 429, "Too many requests", "rate-limited"


class DependencyUnavailable(DomainError):
    status, title, slug = 503, "Service unavailable", "unavailable"


def problem_body(
    status: int, title: str, detail: str, slug: str, errors: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"type": f"/problems/{slug}", "title": title, "status": status, "detail": detail}
    if errors:
        body["errors"] = errors
    return body


def problem_response(
    status: int,
    title: str,
    detail: str,
    slug: str,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    return web.json_response(
        problem_body(status, title, detail, slug, errors),
        status=status,
        content_type=PROBLEM_JSON,
        headers=headers,
    )


def from_error(error: DomainError) -> web.Response:
    return problem_response(error.status, error.title, error.detail, error.slug, error.errors, error.headers)
