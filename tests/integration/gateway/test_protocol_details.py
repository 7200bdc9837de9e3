"""Issue 15's protocol details at the gateway alone: problem types are absolute URIs that answer a human
page, every error (the framework's included) is problem+json with a plain detail, a body that is not JSON
is 415, and JSON answers are gzipped for a client that asks."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator

import pytest

from common.contracts import problems
from tests.conftest import Infra, NewDatabase
from tests.integration.gateway.auth_support import Gateway, running_gateway

BASE = "https://api.example.test"


@pytest.fixture
async def gateway(infra: Infra, new_database: NewDatabase, exchange_name: str) -> AsyncIterator[Gateway]:
    async with running_gateway(infra, new_database, exchange_name, PUBLIC_BASE_URL=BASE + "/") as running:
        yield running


async def test_problem_types_are_absolute_under_the_public_base_url(gateway: Gateway) -> None:
    status, _, problem = await gateway.get("/me", None)

    assert status == 401 and problem["type"] == f"{BASE}/problems/unauthenticated"


async def test_every_catalogued_problem_type_answers_a_page_and_an_unknown_one_404(gateway: Gateway) -> None:
    for slug in problems.CATALOGUE:
        response = await gateway.client.get(f"/problems/{slug}")
        assert response.status == 200 and response.content_type == "text/html", slug
        page = await response.text()
        assert problems.CATALOGUE[slug].title.replace("'", "&#39;") in page, slug
    page = await (await gateway.client.get("/problems/insufficient-credits")).text()
    assert "HTTP 422" in page and "enough available credits" in page

    unknown = await gateway.client.get("/problems/no-such-thing")
    assert unknown.status == 404 and unknown.content_type == "text/html"


async def test_framework_errors_are_problems_with_a_plain_detail(gateway: Gateway) -> None:
    signed_in = {"Authorization": f"Bearer {(await gateway.tokens('ben@acme.test'))['access_token']}"}
    for path in ("/nowhere", "/api/v1/nowhere"):
        missing = await gateway.client.get(path, headers=signed_in)
        body = await missing.json()
        assert missing.status == 404 and missing.content_type == "application/problem+json", path
        assert body["type"] == f"{BASE}/problems/not-found" and ": Not Found" not in body["detail"]

    wrong_method = await gateway.client.delete("/api/v1/auth/token", headers=signed_in)
    body = await wrong_method.json()
    assert wrong_method.status == 405 and "POST" in wrong_method.headers["Allow"]
    assert body["type"] == f"{BASE}/problems/method-not-allowed" and "POST" in body["detail"]

    too_large = await gateway.client.post("/api/v1/auth/token", data=b"{" + b" " * (100 * 1024) + b"}",
                                          headers={"Content-Type": "application/json"})
    body = await too_large.json()
    assert too_large.status == 413 and body["type"] == f"{BASE}/problems/request-too-large"
    assert not body["detail"].startswith("413")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "text/xml"])
async def test_a_body_that_is_not_json_is_415_with_accept_post(gateway: Gateway, content_type: str) -> None:
    response = await gateway.client.post("/api/v1/auth/token", data=b'{"email": "ben@acme.test"}',
                                         headers={"Content-Type": content_type})
    body = await response.json()

    assert response.status == 415 and response.headers["Accept-Post"] == "application/json"
    assert body["type"] == f"{BASE}/problems/unsupported-media-type" and content_type in body["detail"]


async def test_json_with_a_charset_or_a_json_suffix_is_accepted(gateway: Gateway) -> None:
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        response = await gateway.client.post("/api/v1/auth/token", data=b'{"email": "ben@acme.test"}',
                                             headers={"Content-Type": content_type})
        assert response.status == 400, content_type  # read as JSON: the password is missing


async def test_json_answers_are_gzipped_when_the_client_accepts_it(gateway: Gateway) -> None:
    token = (await gateway.tokens("ben@acme.test"))["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    plain = await gateway.client.get("/api/v1/me", headers={**headers, "Accept-Encoding": "identity"},
                                      auto_decompress=False)
    zipped = await gateway.client.get("/api/v1/me", headers={**headers, "Accept-Encoding": "gzip"},
                                      auto_decompress=False)

    assert "Content-Encoding" not in plain.headers
    assert zipped.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in zipped.headers["Vary"]
    assert gzip.decompress(await zipped.read()) == await plain.read()
