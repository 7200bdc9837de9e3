"""Every periodic job runs through `common.runtime.periodic`: it keeps its rhythm and outlives failures."""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
from aiohttp import web

from common.runtime import CleanupCtx, periodic


async def _run_for(ctx_factory: CleanupCtx, seconds: float) -> None:
    """Open the job's cleanup context, let it run, then close it as aiohttp does at shutdown."""
    ctx = ctx_factory(web.Application())
    await ctx.__anext__()
    await asyncio.sleep(seconds)
    with contextlib.suppress(StopAsyncIteration):
        await ctx.__anext__()


async def test_a_periodic_job_runs_again_after_transient_and_unexpected_failures() -> None:
    calls: list[int] = []

    async def step(_: web.Application) -> None:
        calls.append(len(calls))
        if len(calls) == 1:
            raise asyncpg.PostgresConnectionError("database restarting")
        if len(calls) == 2:
            raise RuntimeError("a bug in one round")

    await _run_for(periodic("test-job", 0.01, step), 0.2)
    assert len(calls) >= 4  # both failures outlived, and it went on


async def test_a_periodic_job_can_wait_first_and_read_its_interval_from_the_app() -> None:
    calls: list[float] = []
    interval = web.AppKey("interval", float)

    async def step(_: web.Application) -> None:
        calls.append(asyncio.get_running_loop().time())

    app = web.Application()
    app[interval] = 0.15
    ctx = periodic("slow-job", lambda a: a[interval], step, first_wait=True)(app)
    started = asyncio.get_running_loop().time()
    await ctx.__anext__()
    await asyncio.sleep(0.1)
    assert calls == []  # it waits one interval before the first round
    await asyncio.sleep(0.1)
    assert len(calls) == 1 and calls[0] - started >= 0.14
    with contextlib.suppress(StopAsyncIteration):
        await ctx.__anext__()
