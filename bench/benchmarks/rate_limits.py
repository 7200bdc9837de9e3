"""What a rate limit check costs in the store the gateway replicas share: the gateway's own code
(gateway/web/ratelimit_store.py, one upsert per check) on a database of the gateway's schema, at 1 and 32
concurrent callers on one gateway's pool (DB_POOL_SIZE's default of 8), over 10,000 callers under the default
write limit (5000/second: every check is counted, none refused); then 32 callers on one key (all waiting on
one row's lock), and the same table made LOGGED (what UNLOGGED saves). Beside it, the baseline the issue
asked for: the same window in Redis (a Lua script: GET, INCR and PEXPIRE, counting only below the limit),
over 8 connections too, when a Redis answers at BENCH_REDIS_ADDRESS (127.0.0.1:6379). No Redis client is a
dependency of the project: a few lines of RESP over asyncio streams below speak to it.

The figure that decides is beside the throughput: the CPU one check costs the store (Postgres' backends,
or redis-server) and this process, in microseconds."""

from __future__ import annotations

import asyncio
import os
import random
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

from bench import infra, machine
from bench.modes import Mode
from bench.options import Options
from bench.results import Result, Row
from bench.stats import latency_ms
from common.db import create_pool, migrate
from gateway.app import MIGRATIONS
from gateway.web.ratelimit_store import Count, PostgresWindows, Window, key_secret, stored_key

NAME = "rate_limits"
CALLERS = 10_000
CONCURRENCY = (1, 32)
POOL = 8  # DB_POOL_SIZE's default: the connections one gateway process holds
WRITES = Window("writes", 5000, 1.0)  # WRITE_LIMIT_PER_USER's default
HOT = Window("hot", 1_000_000_000, 60.0)  # one caller, never refused: only the row lock is measured
REDIS_ADDRESS = os.environ.get("BENCH_REDIS_ADDRESS", "127.0.0.1:6379")
# The store's rule (ratelimit_store.counted_after) in Redis: count only below the limit; the first event of a
# key opens its window (the key's expiry).
REDIS_HIT = b"""
local hits = tonumber(redis.call('GET', KEYS[1]) or '0')
if hits >= tonumber(ARGV[1]) then return {0, hits, redis.call('PTTL', KEYS[1])} end
hits = redis.call('INCR', KEYS[1])
if hits == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return {1, hits, redis.call('PTTL', KEYS[1])}
"""

Check = Callable[[Window, str], Awaitable[Count]]


async def run(mode: Mode, options: Options, result: Result) -> None:
    seconds, warmup = mode.leg_seconds, mode.warmup_seconds
    callers = [f"person-{n}" for n in range(CALLERS)]
    database = f"bench_rate_limits_{uuid.uuid4().hex[:8]}"
    dsn = await infra.create_database(database)
    try:
        await migrate(dsn, MIGRATIONS)
        pool = await create_pool(dsn, POOL)
        try:
            store = PostgresWindows(pool, key_secret(secrets.token_urlsafe(40)))
            backends = await _backends(pool)
            for concurrency in CONCURRENCY:
                await _leg(result, f"postgres c={concurrency}", store.hit, WRITES, callers, concurrency, warmup,
                           seconds, backends)
            await _leg(result, "postgres c=32, one key", store.hit, HOT, ["ben"], 32, warmup, seconds, backends)
            await pool.execute("ALTER TABLE rate_limit_windows SET LOGGED")
            await _leg(result, "postgres c=32, LOGGED table", store.hit, WRITES, callers, 32, warmup, seconds,
                       backends)
        finally:
            await pool.close()
    finally:
        await infra.drop_databases([database])
    redis = await RedisWindows.connect(REDIS_ADDRESS, POOL)
    if redis is None:
        result.notes.append(f"no Redis answered at {REDIS_ADDRESS}: its baseline was not measured")
    else:
        try:
            for concurrency in CONCURRENCY:
                await _leg(result, f"redis c={concurrency}", redis.hit, WRITES, callers, concurrency, warmup,
                           seconds, machine.pids_named("redis-server"))
        finally:
            await redis.close()
    result.notes.append(
        f"{CALLERS:,} callers picked at random, window {WRITES.amount}/{WRITES.seconds:.0f} s (no check refused); "
        f"{POOL} connections to the store; one process (uvloop) makes the checks, so at c=32 its own CPU "
        "(client us/check) is part of what limits the throughput")


async def _backends(pool: asyncpg.Pool) -> list[int]:
    """The Postgres backends of the pool, every connection opened (their CPU is the store's). Asked of the
    connections themselves: pg_stat_activity would also list an autovacuum worker that exits mid-leg."""
    connections = [await pool.acquire() for _ in range(POOL)]
    pids = [connection.get_server_pid() for connection in connections]
    for connection in connections:
        await pool.release(connection)
    return pids


@dataclass
class _Measured:
    latencies: list[float]
    refused: int = 0


async def _loop(check: Check, window: Window, keys: list[str], concurrency: int, seconds: float) -> _Measured:
    measured = _Measured([])
    deadline = time.perf_counter() + seconds

    async def caller() -> None:
        while (started := time.perf_counter()) < deadline:
            count = await check(window, random.choice(keys))
            measured.latencies.append(time.perf_counter() - started)
            measured.refused += not count.counted

    await asyncio.gather(*(caller() for _ in range(concurrency)))
    return measured


async def _leg(result: Result, case: str, check: Check, window: Window, keys: list[str], concurrency: int,
               warmup: float, seconds: float, store_pids: list[int]) -> None:
    await _loop(check, window, keys, concurrency, warmup)
    store_before, client_before = _cpu(store_pids), time.process_time()
    started = time.perf_counter()
    measured = await _loop(check, window, keys, concurrency, seconds)
    elapsed = time.perf_counter() - started
    checks = len(measured.latencies)
    store_us = 1e6 * (_cpu(store_pids) - store_before) / max(1, checks)
    client_us = 1e6 * (time.process_time() - client_before) / max(1, checks)
    latency = latency_ms(measured.latencies)
    result.add(Row(
        case=case, throughput=round(checks / elapsed, 1), unit="checks/s", **latency, requests=checks,
        errors=measured.refused, load1=machine.load()[0],
        note=f"store CPU {store_us:.0f} us/check, client {client_us:.0f} us/check",
        details={"store_cpu_us_per_check": round(store_us, 1), "client_cpu_us_per_check": round(client_us, 1),
                 "concurrency": concurrency, "keys": len(keys), "seconds": round(elapsed, 2)},
    ))


def _cpu(pids: list[int]) -> float:
    return sum(machine.process_cpu_seconds(pid) for pid in pids)


class RedisWindows:
    """The baseline: the same windows in Redis, over a few connections spoken to in RESP."""

    def __init__(self, connections: list[Resp], sha: bytes) -> None:
        self._idle: asyncio.Queue[Resp] = asyncio.Queue()
        for connection in connections:
            self._idle.put_nowait(connection)
        self._all = connections
        self._sha = sha
        self._secret = key_secret(secrets.token_urlsafe(40))
        self._prefix = f"bench:{uuid.uuid4().hex[:8]}:".encode()

    @classmethod
    async def connect(cls, address: str, size: int) -> RedisWindows | None:
        host, port = address.rsplit(":", 1)
        try:
            connections = [await Resp.open(host, int(port)) for _ in range(size)]
        except (OSError, TimeoutError):
            return None
        sha = await connections[0].call(b"SCRIPT", b"LOAD", REDIS_HIT)
        return cls(connections, sha)

    async def hit(self, window: Window, key: str) -> Count:
        connection = await self._idle.get()
        try:
            counted, hits, ttl_ms = await connection.call(
                b"EVALSHA", self._sha, b"1", self._prefix + stored_key(self._secret, window, key),
                str(window.amount).encode(), str(int(window.seconds * 1000)).encode())
        finally:
            self._idle.put_nowait(connection)
        return Count(bool(counted), hits, ttl_ms / 1000)

    async def close(self) -> None:
        for connection in self._all:
            await connection.close()


class Resp:
    """One Redis connection: a command out, its reply back (RESP2), one at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int) -> Resp:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 2)
        return cls(reader, writer)

    async def call(self, *parts: bytes) -> Any:
        command = [b"*%d\r\n" % len(parts)]
        for part in parts:
            command.append(b"$%d\r\n%s\r\n" % (len(part), part))
        self._writer.write(b"".join(command))
        return await self._reply()

    async def _reply(self) -> Any:
        line = (await self._reader.readuntil(b"\r\n"))[:-2]
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest
        if kind == b"-":
            raise RuntimeError(f"redis: {rest.decode()}")
        if kind == b":":
            return int(rest)
        if kind == b"$":
            return None if int(rest) < 0 else (await self._reader.readexactly(int(rest) + 2))[:-2]
        if kind == b"*":
            return [await self._reply() for _ in range(int(rest))]
        raise RuntimeError(f"redis: unexpected reply {line!r}")

    async def close(self) -> None:
        self._writer.close()
        await self._writer.wait_closed()
