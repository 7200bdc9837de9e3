"""Gateway hardening, with limits set low: sign-in rate limits and lock-out, write limits, body size,
security headers. The gateway runs alone here: these checks answer before any service is called."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from gateway.app import create_app
from gateway.seed import DEMO_PASSWORD, seed
from gateway.settings import GatewaySettings
from tests.conftest import Infra, NewDatabase


@pytest.fixture
async def gateway(infra: Infra, new_database: NewDatabase, exchange_name: str) -> AsyncIterator[TestClient]:
    dsn = await new_database("gateway")
    settings = GatewaySettings.model_validate({
        "GATEWAY_DATABASE_URL": dsn, "BROKER_URL": infra.broker_url, "EXCHANGE_NAME": exchange_name,
        "INTERNAL_TOKEN_SECRET": secrets.token_urlsafe(40), "JWT_SECRET": secrets.token_urlsafe(40),
        "SIGN_IN_LIMIT_PER_IP": "100/minute", "SIGN_IN_LIMIT_PER_EMAIL": "50/minute",
        "WRITE_LIMIT_PER_USER": "3/minute", "LOCKOUT_FAILURES": "3", "LOCKOUT_SECONDS": "600",
    })
    client = TestClient(TestServer(create_app(settings)))
    await client.start_server()
    await seed(dsn)
    yield client
    await client.close()


async def _sign_in(client: TestClient, email: str, password: str) -> tuple[int, dict[str, str], dict]:
    response = await client.post("/api/v1/auth/token", json={"email": email, "password": password})
    return response.status, dict(response.headers), await response.json()


async def test_repeated_failed_sign_ins_lock_the_email_out_even_with_the_right_password(gateway: TestClient):
    for _ in range(3):
        status, _, _ = await _sign_in(gateway, "ben@acme.test", "wrong")
        assert status == 401
    status, headers, problem = await _sign_in(gateway, "ben@acme.test", DEMO_PASSWORD)
    assert status == 429 and int(headers["Retry-After"]) > 0
    assert problem["type"] == "http://127.0.0.1:8080/problems/rate-limited"  # absolute, under PUBLIC_BASE_URL
    status, _, _ = await _sign_in(gateway, "cleo@acme.test", DEMO_PASSWORD)  # others are not affected
    assert status == 200


async def test_writes_beyond_the_limit_are_refused_with_retry_after(gateway: TestClient):
    _, _, token = await _sign_in(gateway, "master@acme.test", DEMO_PASSWORD)
    headers = {"Authorization": f"Bearer {token['access_token']}", "Idempotency-Key": "k"}
    statuses = []
    for _ in range(4):
        response = await gateway.post("/api/v1/transfers", json={"nonsense": True}, headers=headers)
        statuses.append(response.status)
    assert statuses[:3] == [400, 400, 400] and statuses[3] == 429
    assert "Retry-After" in response.headers


async def test_an_oversized_body_is_413_and_a_wrong_content_type_is_415(gateway: TestClient):
    response = await gateway.post("/api/v1/auth/token", data=b"x" * (200 * 1024),
                                  headers={"Content-Type": "application/json"})
    assert response.status == 413
    assert response.content_type == "application/problem+json"
    response = await gateway.post("/api/v1/auth/token", data=b"<xml/>", headers={"Content-Type": "text/xml"})
    assert response.status == 415 and response.headers["Accept-Post"] == "application/json"


async def test_every_answer_carries_the_security_headers(gateway: TestClient):
    response = await gateway.get("/api/v1/me")
    assert response.status == 401
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"
    body = await response.text()
    assert "Traceback" not in body and "SELECT" not in body
