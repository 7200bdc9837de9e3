"""The resources a service process holds, each as one aiohttp cleanup context (opened before
`yield`, closed after), and the command-line entry every service shares."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

import asyncpg
from aiohttp import web
from prometheus_client import Counter

from common import event_metrics
from common.bus import Broker, EventHandler
from common.contracts.queues import QueueSpec
from common.db import create_pool, migrate
from common.logs import configure_logging, get_logger
from common.outbox import OutboxRelay
from common.problems import DependencyUnavailable

log = get_logger(__name__)

DB = web.AppKey("db", asyncpg.Pool)
BROKER = web.AppKey("broker", Broker)
CleanupCtx = Callable[[web.Application], AsyncIterator[None]]
# How long each resource may take to close when the service stops.
SHUTDOWN_SECONDS = 10.0
BACKGROUND_RESTARTS = Counter(
    "background_task_restarts_total", "Background tasks restarted after an unexpected failure", ["task"]
)


def database_ctx(
    dsn: str, migrations: Path, size: int, extra_migrations: Sequence[tuple[str, Path]] = ()
) -> CleanupCtx:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        await migrate(dsn, migrations, extra_migrations)
        app[DB] = await create_pool(dsn, size)
        yield
        await close_pool(app[DB], "database pool")

    return ctx


async def close_pool(pool: asyncpg.Pool, resource: str) -> None:
    """Close gracefully, which waits for every connection to be handed back however long that takes: so
    for SHUTDOWN_SECONDS at most, then terminate."""
    try:
        await asyncio.wait_for(pool.close(), SHUTDOWN_SECONDS)
    except TimeoutError:
        log.warning("shutdown_slow", resource=resource, waited_s=SHUTDOWN_SECONDS)
        pool.terminate()


def broker_ctx(url: str, exchange: str) -> CleanupCtx:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        app[BROKER] = Broker(url, exchange)
        await app[BROKER].connect()
        yield
        try:
            await asyncio.wait_for(app[BROKER].close(), SHUTDOWN_SECONDS)
        except TimeoutError:
            log.warning("shutdown_slow", resource="broker connection", waited_s=SHUTDOWN_SECONDS)

    return ctx


def background_ctx(
    name: str,
    work: Callable[[web.Application], Coroutine[Any, Any, None]],
    restart_after: float = 1.0,
) -> CleanupCtx:
    """Run a long-lived task beside the HTTP server, cancel it on shutdown, and restart it if it fails.

    A background task that dies takes its job with it while the service goes on answering: found by the
    fault campaign, whose outbox relay died on an error it did not expect after a Postgres restart and
    left three purchases paid but never credited. So a failure is logged and the work started again."""

    async def supervise(app: web.Application) -> None:
        while True:
            try:
                await work(app)
            except Exception:
                BACKGROUND_RESTARTS.labels(name).inc()
                log.exception("background_task_failed", task=name, restart_in_s=restart_after)
                await asyncio.sleep(restart_after)
            else:
                log.info("background_task_finished", task=name)
                return

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(supervise(app), name=name)
        yield
        task.cancel()
        # Bounded: a process must stop in the time its supervisor gives it, even if a task is slow to
        # notice its cancellation (it is then left to die with the loop).
        done, _ = await asyncio.wait({task}, timeout=SHUTDOWN_SECONDS)
        if not done:
            log.warning("shutdown_slow", resource=name, waited_s=SHUTDOWN_SECONDS)
        elif not task.cancelled() and task.exception() is not None:
            log.warning("background_task_ended_with_error", task=name, error=repr(task.exception()))

    return ctx


Step = Callable[[web.Application], Awaitable[Any]]
# The failures a periodic job outlives quietly: the database or a service behind it restarting.
TRANSIENT_FAILURES: tuple[type[BaseException], ...] = (
    OSError, asyncpg.PostgresError, asyncpg.InterfaceError, DependencyUnavailable,
)


def periodic(
    name: str, every: float | Callable[[web.Application], float], step: Step, *, first_wait: bool = False
) -> CleanupCtx:
    """Run `step(app)` every `every` seconds (a number, or read from the app's settings) beside the server.

    A transient failure (database or dependency down) is logged as a warning and the next round comes as
    usual; any other failure is logged with its stack and counted, and the job goes on too: a periodic job
    that dies leaves its work (sweeps, expiries, checks) undone while the service still answers."""

    def interval(app: web.Application) -> float:
        return every(app) if callable(every) else every

    async def loop(app: web.Application) -> None:
        if first_wait:
            await asyncio.sleep(interval(app))
        while True:
            try:
                await step(app)
            except TRANSIENT_FAILURES as exc:
                log.warning("periodic_job_failed", job=name, error=str(exc))
            except Exception:
                BACKGROUND_RESTARTS.labels(name).inc()
                log.exception("periodic_job_crashed", job=name)
            await asyncio.sleep(interval(app))

    return background_ctx(name, loop)


def relay_ctx(dsn: str) -> CleanupCtx:
    async def relay(app: web.Application) -> None:
        outbox_relay = OutboxRelay(dsn, app[DB], app[BROKER])
        # Beside the relay, not inside it: a stuck relay still shows its oldest event growing older.
        sampler = asyncio.create_task(event_metrics.sample_outbox_forever(app[DB]), name="outbox-sampler")
        try:
            await outbox_relay.run()
        finally:
            sampler.cancel()
            await outbox_relay.close()

    return background_ctx("outbox-relay", relay)


def consumer_ctx(queue: QueueSpec, make_handler: Callable[[web.Application], EventHandler]) -> CleanupCtx:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        await app[BROKER].consume(queue.name, make_handler(app))
        yield

    return ctx


def readiness_checks(app: web.Application) -> dict[str, Callable[[], Awaitable[None]]]:
    async def database() -> None:
        async with app[DB].acquire() as conn:
            await conn.fetchval("SELECT 1")

    async def broker() -> None:
        if not app[BROKER].is_connected:
            raise ConnectionError("broker not connected")

    return {"database": database, "broker": broker}


def migrate_command(service: str, dsn: str, migrations: Path) -> Callable[[], Coroutine[Any, Any, int]]:
    """`python -m <service> migrate`: apply the service's migrations and say which."""

    async def command() -> int:
        applied = await migrate(dsn, migrations)
        print(f"{service}: {len(applied)} migration(s) applied: {', '.join(applied) or 'none'}")
        return 0

    return command


def run_cli(
    service: str,
    log_level: str,
    serve: Callable[[], web.Application],
    host: str,
    port: int,
    commands: dict[str, Callable[[], Coroutine[Any, Any, int]]],
) -> None:
    """`python -m <service> [serve|<command>]`: serve by default, or run one of the commands."""
    configure_logging(service, log_level)
    command = sys.argv[1] if len(sys.argv) > 1 else "serve"
    if command == "serve":
        with contextlib.suppress(ImportError):
            import uvloop

            uvloop.install()
        web.run_app(serve(), host=host, port=port, print=None, access_log=None)
        return
    if command not in commands:
        sys.stderr.write(f"usage: python -m {service} [serve|{'|'.join(commands)}]\n")
        raise SystemExit(2)
    raise SystemExit(asyncio.run(commands[command]()))
