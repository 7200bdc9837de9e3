"""The rate limits on the gateway's real database, as replicas share them: two `Limits` (two gateway processes,
each with its own pool) on one database count one limit together, concurrent events never take more than the
limit, windows end and are swept, and two whole gateways behind one load balancer refuse the same sign-in."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import asyncpg
import pytest
from aiohttp import web

from common.db import create_pool
from common.runtime import DB
from gateway.web.ratelimit import Limits, Quota, RateLimited
from gateway.web.ratelimit_store import PostgresWindows, Window, key_secret, sweep
from tests.conftest import Infra, NewDatabase
from tests.integration.gateway.auth_support import running_replicas

SECRET = key_secret(secrets.token_urlsafe(40))  # one JWT secret for every replica, as deployed


def headers_of(refused: pytest.ExceptionInfo[RateLimited]) -> dict[str, str]:
    assert refused.value.headers is not None
    return refused.value.headers


@pytest.fixture
async def pools(new_database: NewDatabase) -> AsyncIterator[tuple[asyncpg.Pool, asyncpg.Pool]]:
    """One database, and the pool each of two replicas holds on it."""
    dsn = await new_database("gateway")
    first, second = await create_pool(dsn), await create_pool(dsn)
    try:
        yield first, second
    finally:
        await first.close()
        await second.close()


def replica(pool: asyncpg.Pool, writes: str = "5/minute") -> Limits:
    return Limits(PostgresWindows(pool, SECRET), "300/minute", "10/minute", writes, lockout_failures=3,
                  lockout_seconds=600)


async def test_two_replicas_count_one_limit_together(pools: tuple[asyncpg.Pool, asyncpg.Pool]):
    a, b = replica(pools[0]), replica(pools[1])
    left = [(await a.write("ben")).remaining for _ in range(3)] + [(await b.write("ben")).remaining for _ in range(2)]
    assert left == [4, 3, 2, 1, 0]
    with pytest.raises(RateLimited) as refused:
        await b.write("ben")  # the sixth, the third through this replica: each alone would have allowed it
    assert 0 < int(headers_of(refused)["Retry-After"]) <= 60
    assert headers_of(refused)["RateLimit-Remaining"] == "0"
    with pytest.raises(RateLimited):
        await a.write("ben")
    assert await a.write("cleo") == Quota(5, 4, 60)  # another caller has a window of its own


async def test_password_resets_asked_through_two_replicas_meet_one_limit(pools: tuple[asyncpg.Pool, asyncpg.Pool]):
    a, b = replica(pools[0]), replica(pools[1])  # 3 an hour per email
    await a.password_reset("10.0.0.1", "Ben@acme.test")
    await b.password_reset("10.0.0.2", "ben@acme.test ")
    await a.password_reset("10.0.0.3", "ben@acme.test")
    with pytest.raises(RateLimited) as refused:
        await b.password_reset("10.0.0.4", "ben@acme.test")  # the fourth: the second through this replica
    assert int(headers_of(refused)["Retry-After"]) > 0
    assert (await b.password_reset("10.0.0.4", "cleo@acme.test")).remaining == 2  # another mailbox


async def test_fifty_concurrent_events_at_a_limit_of_ten_let_exactly_ten_through(
        pools: tuple[asyncpg.Pool, asyncpg.Pool]):
    replicas = [replica(pools[0], "10/minute"), replica(pools[1], "10/minute")]

    async def attempt(n: int) -> bool:
        try:
            await replicas[n % 2].write("ben")
        except RateLimited:
            return False
        return True

    allowed = await asyncio.gather(*(attempt(n) for n in range(50)))
    assert sum(allowed) == 10
    assert await pools[0].fetchval("SELECT hits FROM rate_limit_windows WHERE limit_name = 'writes'") == 10


async def test_failures_through_one_replica_lock_the_account_on_the_other(pools: tuple[asyncpg.Pool, asyncpg.Pool]):
    a, b = replica(pools[0]), replica(pools[1])
    for limits in (a, b, a):
        await limits.sign_in_attempt("198.51.100.7", "ben@acme.test")
        await limits.sign_in_failed("ben@acme.test")
    with pytest.raises(RateLimited) as refused:
        await b.sign_in_attempt("203.0.113.20", "Ben@acme.test")
    assert 590 < int(headers_of(refused)["Retry-After"]) <= 600
    assert (await a.sign_in_attempt("198.51.100.7", "cleo@acme.test")).remaining == 3  # her failures: none
    # No email or address is stored, only their HMACs.
    keys = [bytes(row["key"]) for row in await pools[0].fetch("SELECT key FROM rate_limit_windows")]
    assert keys and not any(b"acme" in key or b"198.51" in key for key in keys)


async def test_a_window_ends_on_time_and_ended_windows_are_swept(pools: tuple[asyncpg.Pool, asyncpg.Pool]):
    store = PostgresWindows(pools[0], SECRET)
    short, long = Window("short", 2, 0.5), Window("long", 2, 60.0)
    assert [(await store.hit(short, "ben")).counted for _ in range(3)] == [True, True, False]
    await store.hit(long, "ben")
    await asyncio.sleep(0.6)
    assert (await store.peek(short, "ben")).hits == 0
    app = web.Application()
    app[DB] = pools[1]
    await sweep(app)
    assert await pools[0].fetchval("SELECT array_agg(limit_name) FROM rate_limit_windows") == ["long"]
    again = await store.hit(short, "ben")
    assert again.counted and again.hits == 1


async def test_two_gateways_behind_one_load_balancer_refuse_the_same_sign_in(
        infra: Infra, new_database: NewDatabase, exchange_name: str):
    async with running_replicas(infra, new_database, exchange_name, 2, SIGN_IN_LIMIT_PER_EMAIL="4/minute") as both:
        statuses = [(await both[n % 2].sign_in("cleo@acme.test"))[0] for n in range(4)]
        assert statuses == [200, 200, 200, 200]
        for gateway in both:
            status, headers, problem = await gateway.sign_in("cleo@acme.test")
            assert status == 429 and str(problem["type"]).endswith("/rate-limited")
            assert headers["RateLimit-Limit"] == "4" and headers["RateLimit-Remaining"] == "0"
            assert 0 < int(headers["Retry-After"]) <= 60
