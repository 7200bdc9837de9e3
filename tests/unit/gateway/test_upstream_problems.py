"""A service's 4xx problem reaches the client as the service answered it: its status, type, title,
detail and errors, whatever the kind the gateway gives it."""

from __future__ import annotations

import json

from common.web import from_error, status_of
from gateway.clients.base import UpstreamProblem


def test_a_relayed_problem_keeps_the_services_status_type_title_and_errors():
    problem = UpstreamProblem(409, {
        "type": "/problems/idempotency-key-reused", "title": "Idempotency key already used for a different request",
        "status": 409, "detail": "Send a new key.", "errors": [{"field": "quantity", "message": "Changed."}],
    })
    assert status_of(problem) == 409
    response = from_error(problem)
    assert response.status == 409 and response.content_type == "application/problem+json"
    assert response.text is not None
    assert json.loads(response.text) == {
        "type": "/problems/idempotency-key-reused", "title": "Idempotency key already used for a different request",
        "status": 409, "detail": "Send a new key.", "errors": [{"field": "quantity", "message": "Changed."}],
    }


def test_a_problem_without_a_body_is_still_relayed_with_its_status():
    problem = UpstreamProblem(404, {})
    assert status_of(problem) == 404
    assert (problem.slug, problem.title, problem.detail) == ("error", "Error", "")
