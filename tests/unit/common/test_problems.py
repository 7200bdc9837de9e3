"""The catalogue of problem types is the one place a slug and its title are declared, and the web edge,
not the domain, decides each kind's HTTP status."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest

from common.contracts import problems
from common.contracts.problems import CATALOGUE, ProblemType
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
from common.web import PROBLEM_JSON, from_error, status_of

ROOT = Path(__file__).resolve().parents[3]


def _all_subclasses(cls: type[DomainError]) -> set[type[DomainError]]:
    found: set[type[DomainError]] = set(cls.__subclasses__())
    for sub in list(found):
        found |= _all_subclasses(sub)
    return found


def test_a_slug_cannot_be_declared_twice() -> None:
    with pytest.raises(ValueError, match="declared twice"):
        problems._problem(problems.INSUFFICIENT_CREDITS.slug, "Another title")
    assert CATALOGUE["insufficient-credits"].title == "Not enough credits"


def test_every_domain_error_in_the_code_names_a_catalogued_problem_type() -> None:
    for top in ("common", "gateway", "services", "fakes"):
        for path in sorted((ROOT / top).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__main__":
                continue
            importlib.import_module(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    classes = _all_subclasses(DomainError)
    assert len(classes) > 40  # the whole code base was loaded, not just this module's imports
    for cls in classes:
        assert CATALOGUE.get(cls.problem.slug) is cls.problem, f"{cls.__module__}.{cls.__qualname__}"


@pytest.mark.parametrize(
    ("kind", "status"),
    [(MalformedRequest, 400), (UnsupportedMediaType, 415), (Unauthenticated, 401), (Forbidden, 403), (NotFound, 404),
     (Conflict, 409), (RuleBroken, 422), (TooManyRequests, 429), (DependencyUnavailable, 503)],
)
def test_the_web_edge_maps_each_kind_of_error_to_its_status(kind: type[DomainError], status: int) -> None:
    class Specific(kind):  # type: ignore[valid-type,misc]
        problem = problems.ACCOUNT_FORBIDDEN

    assert status_of(kind("x")) == status
    assert status_of(Specific("x")) == status


def test_a_problem_answer_carries_the_catalogued_type_and_title() -> None:
    error = RuleBroken("Only 3 credits are available.", problem=problems.INSUFFICIENT_CREDITS)
    response = from_error(error)
    assert response.status == 422
    assert response.content_type == PROBLEM_JSON
    assert response.text is not None
    assert json.loads(response.text) == {
        "type": "/problems/insufficient-credits", "title": "Not enough credits", "status": 422,
        "detail": "Only 3 credits are available.",
    }


def test_a_relayed_problem_keeps_the_status_it_was_answered_with() -> None:
    class Relayed(DomainError):
        def __init__(self) -> None:
            super().__init__("upstream said so", problem=ProblemType("upstream-thing", "Upstream"))
            self.status = 418

    assert status_of(Relayed()) == 418
