"""A background task (outbox relay, sweepers) that fails is logged and started again, not lost."""

from __future__ import annotations

import asyncio

from aiohttp import web

from common.runtime import BACKGROUND_RESTARTS, background_ctx


async def test_a_failing_background_task_is_restarted_and_cancelled_on_shutdown():
    runs: list[int] = []
    stopped = asyncio.Event()

    async def work(_: web.Application) -> None:
        runs.append(len(runs))
        if len(runs) < 3:
            raise RuntimeError(f"failure {len(runs)}")
        try:
            await asyncio.Event().wait()
        finally:
            stopped.set()

    before = BACKGROUND_RESTARTS.labels("test-task")._value.get()
    ctx = background_ctx("test-task", work, restart_after=0.01)(web.Application())
    await anext(ctx)
    for _ in range(200):
        if len(runs) == 3:
            break
        await asyncio.sleep(0.01)
    assert runs == [0, 1, 2]
    assert BACKGROUND_RESTARTS.labels("test-task")._value.get() - before == 2

    async for _ in ctx:  # shutdown: cancels the third run
        pass
    assert stopped.is_set()


async def test_a_background_task_that_finishes_is_not_started_again():
    runs: list[int] = []

    async def work(_: web.Application) -> None:
        runs.append(1)

    ctx = background_ctx("test-once", work, restart_after=0.01)(web.Application())
    await anext(ctx)
    await asyncio.sleep(0.1)
    async for _ in ctx:
        pass
    assert runs == [1]
