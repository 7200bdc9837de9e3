"""The error hierarchy every domain raises. Each kind of failure is a class; each error names its
problem type from the catalogue (`common.contracts.problems`). Nothing here knows HTTP: the web edge
(`common.web`) maps a kind to its status and renders the problem."""

from __future__ import annotations

from typing import Any

from common.contracts import problems
from common.contracts.problems import ProblemType


class DomainError(Exception):
    """A request that cannot be carried out as asked. Subclasses are the kinds; `problem` the type."""

    problem: ProblemType = problems.RULE_BROKEN

    def __init__(
        self, detail: str, *, errors: list[dict[str, Any]] | None = None, problem: ProblemType | None = None
    ):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.headers: dict[str, str] | None = None  # e.g. Retry-After on a 429
        if problem is not None:
            self.problem = problem

    @property
    def slug(self) -> str:
        return self.problem.slug

    @property
    def title(self) -> str:
        return self.problem.title


class MalformedRequest(DomainError):
    problem = problems.MALFORMED_REQUEST


class UnsupportedMediaType(DomainError):
    """A body that is not in a media type the endpoint takes (JSON)."""

    problem = problems.UNSUPPORTED_MEDIA_TYPE


class Unauthenticated(DomainError):
    problem = problems.UNAUTHENTICATED


class Forbidden(DomainError):
    problem = problems.FORBIDDEN


class NotFound(DomainError):
    problem = problems.NOT_FOUND


class Conflict(DomainError):
    problem = problems.CONFLICT


class RuleBroken(DomainError):
    problem = problems.RULE_BROKEN


class TooManyRequests(DomainError):
    problem = problems.RATE_LIMITED


class DependencyUnavailable(DomainError):
    problem = problems.UNAVAILABLE
