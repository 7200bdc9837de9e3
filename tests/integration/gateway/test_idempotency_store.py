"""The gateway's idempotency store (gateway/web/idempotency.py) on the gateway's real database, around a
stand-in write whose answers the test chooses: what is replayed, what is not, how keys are scoped, what a
concurrent retry gets, and the purge."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from common.db import create_pool
from common.problems import DependencyUnavailable, RuleBroken
from common.runtime import DB
from common.web import Handler, idempotency_key, observability_middleware
from gateway.directory.domain import Person
from gateway.resources import SETTINGS
from gateway.settings import GatewaySettings
from gateway.web.auth import Caller
from gateway.web.idempotency import REPLAYED_HEADER, idempotent, purge
from gateway.web.middleware import CALLER
from tests.conftest import NewDatabase


@dataclass
class Write:
    """The stand-in write: answers `answers` in turn and records the keys it was handed."""

    answers: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    gate: asyncio.Event | None = None
    started: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.keys.append(idempotency_key(request))
        self.started.set()
        if self.gate is not None:
            await self.gate.wait()
        answer = self.answers.pop(0)
        if answer == "503":
            raise DependencyUnavailable("The ledger is down.")
        if answer == "500":
            raise RuntimeError("a bug")
        if answer == "422":
            raise RuleBroken("Not enough credits.")
        if answer == "400":
            return web.json_response({"problem": "malformed"}, status=400)
        return web.json_response({"n": len(self.keys), "id": str(uuid.uuid4())}, status=201,
                                 headers={"Location": f"/things/{len(self.keys)}"})


def _person(person_id: uuid.UUID) -> Person:
    return Person(id=person_id, tenant_id=None, email="p@x.test", name="P", role="master", team=None, active=True,
                  send_sms=True, manage_credits=True)


@dataclass
class Harness:
    client: TestClient
    write: Write
    app: web.Application

    async def post(self, key: str, body: object, caller: str = "ben", path: str = "/things/1/do"
                   ) -> tuple[int, dict[str, str], bytes]:
        response = await self.client.post(path, data=json.dumps(body), headers={
            "Idempotency-Key": key, "X-Caller": caller, "Content-Type": "application/json"})
        return response.status, dict(response.headers), await response.read()


@pytest.fixture
async def harness(new_database: NewDatabase) -> AsyncIterator[Harness]:
    dsn = await new_database("gateway")
    pool = await create_pool(dsn, 4)
    write = Write()
    callers = {"ben": uuid.uuid4(), "cleo": uuid.uuid4()}

    @web.middleware
    async def sign_in(request: web.Request, handler: Handler) -> web.StreamResponse:
        request[CALLER] = Caller(_person(callers[request.headers["X-Caller"]]), None)
        return await handler(request)

    app = web.Application(middlewares=[observability_middleware("test"), sign_in])
    app[DB] = pool
    # The claim's lease follows the gateway's request time limit.
    app[SETTINGS] = GatewaySettings.model_validate(
        {"GATEWAY_DATABASE_URL": dsn, "JWT_SECRET": "j" * 40, "INTERNAL_TOKEN_SECRET": "i" * 40})
    handler = idempotent(write.handle)
    app.add_routes([web.post("/things/{id}/do", handler), web.post("/others", handler)])
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield Harness(client, write, app)
    finally:
        await client.close()
        await pool.close()


async def test_a_replay_answers_the_first_answer_byte_for_byte_and_says_so(harness: Harness) -> None:
    harness.write.answers = ["201"]
    first = await harness.post("k1", {"a": 1, "b": [1, 2]})
    again = await harness.post("k1", {"b": [1, 2], "a": 1})  # the same JSON, keys in another order

    assert first[0] == again[0] == 201 and first[2] == again[2]
    assert again[1]["Location"] == first[1]["Location"] == "/things/1"
    assert again[1]["Content-Type"] == first[1]["Content-Type"]
    assert again[1][REPLAYED_HEADER] == "true" and REPLAYED_HEADER not in first[1]
    assert len(harness.write.keys) == 1


async def test_a_different_body_under_the_same_key_is_409_and_not_run(harness: Harness) -> None:
    harness.write.answers = ["201"]
    await harness.post("k2", {"a": 1})
    status, headers, body = await harness.post("k2", {"a": 2})

    assert status == 409 and headers["Content-Type"].startswith("application/problem+json")
    assert json.loads(body)["type"] == "/problems/idempotency-key-reused"
    assert len(harness.write.keys) == 1


async def test_keys_are_scoped_per_caller_and_endpoint_and_the_key_passed_down_is_derived(harness: Harness) -> None:
    harness.write.answers = ["201", "201", "201"]
    ben = await harness.post("shared", {"a": 1})
    cleo = await harness.post("shared", {"a": 2}, caller="cleo")
    other_endpoint = await harness.post("shared", {"a": 3}, path="/others")

    assert (ben[0], cleo[0], other_endpoint[0]) == (201, 201, 201)
    assert len(set(harness.write.keys)) == 3 and "shared" not in harness.write.keys
    assert all(len(key) == 64 for key in harness.write.keys)
    # The same route for another thing (another purchase's refund) under the same key: another request.
    assert (await harness.post("shared", {"a": 1}, path="/things/2/do"))[0] == 409


async def test_failures_are_not_stored_so_the_retry_runs_again(harness: Harness) -> None:
    harness.write.answers = ["503", "500", "400", "201", "422"]
    assert (await harness.post("k3", {"a": 1}))[0] == 503
    assert (await harness.post("k3", {"a": 1}))[0] == 500
    assert (await harness.post("k3", {"a": 1}))[0] == 400
    created = await harness.post("k3", {"a": 1})
    assert created[0] == 201 and len(set(harness.write.keys)) == 1  # every attempt under one derived key

    refused = await harness.post("k4", {"a": 1})
    replayed = await harness.post("k4", {"a": 1})
    assert refused[0] == replayed[0] == 422 and refused[2] == replayed[2]  # a rule's answer is final


async def test_a_retry_while_the_first_is_in_flight_is_409_with_retry_after(harness: Harness) -> None:
    harness.write.answers = ["201"]
    harness.write.gate = asyncio.Event()
    first = asyncio.create_task(harness.post("k5", {"a": 1}))
    await asyncio.wait_for(harness.write.started.wait(), timeout=5)
    status, headers, body = await harness.post("k5", {"a": 1})
    harness.write.gate.set()

    assert status == 409 and int(headers["Retry-After"]) >= 1
    assert json.loads(body)["type"] == "/problems/idempotency-request-in-progress"
    assert (await first)[0] == 201
    assert (await harness.post("k5", {"a": 1}))[1][REPLAYED_HEADER] == "true"


async def test_entries_older_than_a_day_are_purged(harness: Harness) -> None:
    harness.write.answers = ["201", "201"]
    await harness.post("old", {"a": 1})
    await harness.post("new", {"a": 1})
    pool = harness.app[DB]
    await pool.execute("UPDATE idempotent_requests SET created_at = now() - interval '25 hours' WHERE key = 'old'")

    await purge(harness.app)

    assert {r["key"] for r in await pool.fetch("SELECT key FROM idempotent_requests")} == {"new"}


async def test_a_claim_left_by_a_process_that_died_is_taken_over_once_no_live_request_can_hold_it(
        harness: Harness) -> None:
    harness.write.answers = ["201", "201"]
    pool = harness.app[DB]
    await harness.post("k6", {"a": 1})
    # What a gateway killed mid-request leaves behind: a claim with no answer, never released.
    await pool.execute("UPDATE idempotent_requests SET status = NULL, headers = NULL, body = NULL WHERE key = 'k6'")
    limit = harness.app[SETTINGS].request_timeout

    await pool.execute("UPDATE idempotent_requests SET created_at = now() - make_interval(secs => $1)"
                       " WHERE key = 'k6'", limit - 1)
    assert (await harness.post("k6", {"a": 1}))[0] == 409  # a live request could still hold it
    await pool.execute("UPDATE idempotent_requests SET created_at = now() - make_interval(secs => $1)"
                       " WHERE key = 'k6'", limit + 6)
    status, headers, _ = await harness.post("k6", {"a": 1})
    assert status == 201 and REPLAYED_HEADER not in headers
    assert len(harness.write.keys) == 2  # the write ran again, under the same derived key
    assert harness.write.keys[0] == harness.write.keys[1]
