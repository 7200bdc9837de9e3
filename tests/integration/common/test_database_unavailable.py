"""A service whose database restarts or is unreachable answers 503 (try again), never 500.

Found by the fault campaign (tests/chaos): while Postgres restarted, the gateway answered 500 to every
request, its pool's connections refused or cut under a query."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from common.db import create_pool
from common.web import observability_middleware
from tests.chaos.infra import free_port
from tests.conftest import NewDatabase
from tests.support import eventually

POOL = web.AppKey("pool", asyncpg.Pool)


def _app(pool: asyncpg.Pool) -> web.Application:
    async def count(request: web.Request) -> web.Response:
        async with request.app[POOL].acquire() as conn:
            return web.json_response({"one": await conn.fetchval("SELECT 1")})

    async def slow(request: web.Request) -> web.Response:
        async with request.app[POOL].acquire() as conn:
            await conn.execute("SELECT pg_sleep(30)")
        return web.json_response({})

    async def broken(_: web.Request) -> web.Response:
        raise RuntimeError("a bug")

    app = web.Application(middlewares=[observability_middleware("test")])
    app[POOL] = pool
    app.add_routes([web.get("/count", count), web.get("/slow", slow), web.get("/bug", broken)])
    return app


@pytest.fixture
async def client_and_pool(new_database: NewDatabase) -> AsyncIterator[tuple[TestClient, asyncpg.Pool, str]]:
    dsn = await new_database("unavailable")
    pool = await create_pool(dsn, 2)
    client = TestClient(TestServer(_app(pool)))
    await client.start_server()
    yield client, pool, dsn
    await client.close()
    pool.terminate()


async def test_a_query_cut_by_the_server_answers_503(client_and_pool: tuple[TestClient, asyncpg.Pool, str]):
    client, _, dsn = client_and_pool
    answer = asyncio.create_task(client.get("/slow"))
    # What a Postgres restart does to a query under way: the server ends its connection.
    admin = await asyncpg.connect(dsn)
    try:
        async def sleeping() -> bool:
            return bool(await admin.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%pg_sleep%' "
                "AND pid <> pg_backend_pid()"))

        await eventually(sleeping)
        await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = current_database() AND pid <> pg_backend_pid()")
    finally:
        await admin.close()
    response = await answer
    assert response.status == 503, await response.text()
    assert response.content_type == "application/problem+json"
    assert (await response.json())["type"] == "/problems/unavailable"
    assert (await client.get("/count")).status == 200  # the pool reconnects by itself


async def test_a_database_that_refuses_connections_answers_503():
    pool = await asyncpg.create_pool(f"postgresql://postgres@127.0.0.1:{free_port()}/none", min_size=0, max_size=1)
    client = TestClient(TestServer(_app(pool)))
    await client.start_server()
    try:
        response = await client.get("/count")
        assert response.status == 503 and (await response.json())["status"] == 503
        assert (await client.get("/bug")).status == 500  # a bug of ours is still a 500
    finally:
        await client.close()
        await pool.close()
