"""CORS for the configured origins: preflights answered 204 before authentication and routing (never 401 or
405), the origin itself allowed (never `*`), the headers a client needs exposed; other origins get nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.conftest import Infra, NewDatabase
from tests.integration.gateway.auth_support import Gateway, running_gateway

ALLOWED = "http://localhost:3000"
OTHER_ALLOWED = "https://app.example.test"
STRANGER = "https://evil.example.test"
EXPOSED = {"Location", "Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "ETag",
           "Idempotent-Replayed", "X-Request-ID"}


@pytest.fixture
async def gateway(infra: Infra, new_database: NewDatabase, exchange_name: str) -> AsyncIterator[Gateway]:
    async with running_gateway(infra, new_database, exchange_name,
                               CORS_ORIGINS=f" {ALLOWED}, {OTHER_ALLOWED}/ ") as running:
        yield running


def _cors(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower().startswith("access-control-")}


async def _preflight(gateway: Gateway, path: str, origin: str, method: str = "POST",
                     headers: str = "authorization, idempotency-key, content-type") -> tuple[int, dict[str, str]]:
    response = await gateway.client.options(path, headers={
        "Origin": origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": headers,
    })
    return response.status, dict(response.headers)


@pytest.mark.parametrize(("path", "method"), [
    ("/api/v1/transfers", "POST"),  # needs a token: no 401 for the preflight
    ("/api/v1/accounts", "GET"),
    ("/api/v1/me/sessions/4b0c8c55-0a5e-4a8e-9a3e-1f0c2b1d9e77", "DELETE"),
    ("/api/v1/auth/token", "POST"),  # public
    ("/api/v1/logs", "PUT"),  # a method the route has not: no 405 for the preflight
])
async def test_a_preflight_from_an_allowed_origin_is_answered_204_with_what_it_may_send(
        gateway: Gateway, path: str, method: str):
    for origin in (ALLOWED, OTHER_ALLOWED):
        status, headers = await _preflight(gateway, path, origin, method)
        assert status == 204, (path, status)
        assert headers["Access-Control-Allow-Origin"] == origin
        assert "*" not in headers["Access-Control-Allow-Origin"]
        assert "Access-Control-Allow-Credentials" not in headers
        assert {m.strip() for m in headers["Access-Control-Allow-Methods"].split(",")} >= {
            "GET", "POST", "PUT", "PATCH", "DELETE"}
        allowed_headers = {h.strip().lower() for h in headers["Access-Control-Allow-Headers"].split(",")}
        assert allowed_headers >= {"authorization", "idempotency-key", "content-type", "if-none-match"}
        assert int(headers["Access-Control-Max-Age"]) > 0
        assert "Origin" in headers["Vary"]


async def test_a_preflight_from_another_origin_gets_no_cors_headers(gateway: Gateway):
    for origin in (STRANGER, "http://localhost:3001", "null", "http://LOCALHOST:3000.evil.test"):
        status, headers = await _preflight(gateway, "/api/v1/transfers", origin)
        assert status == 204 and _cors(headers) == {}, origin


async def test_answers_to_an_allowed_origin_expose_the_headers_a_client_reads_errors_included(gateway: Gateway):
    response = await gateway.client.post("/api/v1/auth/token", headers={"Origin": ALLOWED},
                                         json={"email": "ben@acme.test", "password": "demo-password"})
    assert response.status == 200
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    exposed = {h.strip() for h in response.headers["Access-Control-Expose-Headers"].split(",")}
    assert exposed >= EXPOSED
    assert "Origin" in response.headers["Vary"]
    assert "RateLimit-Remaining" in response.headers
    token = (await response.json())["access_token"]

    # A 401 too: without the header the page's script could not read why it was refused.
    response = await gateway.client.get("/api/v1/accounts", headers={"Origin": ALLOWED})
    assert response.status == 401 and response.headers["Access-Control-Allow-Origin"] == ALLOWED
    response = await gateway.client.get("/api/v1/me", headers={"Origin": ALLOWED, "Authorization": f"Bearer {token}"})
    assert response.status == 200 and response.headers["Access-Control-Allow-Origin"] == ALLOWED


async def test_answers_to_another_origin_carry_no_cors_headers(gateway: Gateway):
    for headers in ({"Origin": STRANGER}, {}):
        response = await gateway.client.post("/api/v1/auth/token", headers=headers,
                                             json={"email": "ben@acme.test", "password": "demo-password"})
        assert response.status == 200
        assert _cors(dict(response.headers)) == {}
        assert "Origin" in response.headers["Vary"]  # a cache keeps answers to different origins apart


async def test_without_configured_origins_there_is_no_cors_at_all(
        infra: Infra, new_database: NewDatabase, exchange_name: str):
    async with running_gateway(infra, new_database, exchange_name) as plain:
        status, headers = await _preflight(plain, "/api/v1/transfers", ALLOWED)
        assert status == 204 and _cors(headers) == {}
        response = await plain.client.get("/api/v1/me", headers={"Origin": ALLOWED})
        assert response.status == 401 and _cors(dict(response.headers)) == {}


async def test_an_options_request_that_is_no_preflight_is_left_to_the_api(gateway: Gateway):
    response = await gateway.client.options("/api/v1/transfers", headers={"Origin": ALLOWED})
    assert response.status != 204  # not a preflight (no Access-Control-Request-Method): routed as usual
    response = await gateway.client.options("/signin", headers={"Origin": ALLOWED,
                                                                "Access-Control-Request-Method": "GET"})
    assert _cors(dict(response.headers)) == {}  # the pages are not the API: no CORS there
