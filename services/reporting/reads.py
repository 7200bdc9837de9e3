"""Where the log is read: a streaming replica of reporting's database when REPORTING_READ_DATABASE_URL names
one and it answers, else the primary. The consumers, the retention purge, migrations and every other
write use the primary's pool (`common.runtime.DB`) only; this one is for reads (docs/consistency.md).

A replica that is down never makes reporting unavailable: a read that cannot open a connection (or a
transaction) there is served by the primary, and the replica is left alone for a few seconds before it is
tried again, so a dead replica costs one failed connection attempt per pause, not one per request."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import asyncpg
from aiohttp import web
from prometheus_client import Counter

from common.db import DATABASE_UNAVAILABLE
from common.logs import get_logger
from common.runtime import DB, CleanupCtx, close_pool

log = get_logger(__name__)

READ_SNAPSHOTS = Counter(
    "reporting_read_snapshots_total",
    "Connections (or read-only snapshots) the log was read from, each read and each check of a consistency "
    "token, by the server that served them: `replica`, or `primary` (no replica set, or it did not answer)",
    ["target"],
)
# What opening a read on the replica raises when it cannot serve: down, restarting, unreachable, or not yet
# holding the database (created on the primary, its creation not replayed yet).
REPLICA_UNAVAILABLE: tuple[type[Exception], ...] = (*DATABASE_UNAVAILABLE, OSError, asyncpg.InvalidCatalogNameError)
# A replica that failed is tried again after this long; until then its reads go to the primary.
RETRY_REPLICA_SECONDS = 5.0
# Bounded, so an unreachable replica host delays a read by this much at most before the primary serves it
# (asyncpg's default is a minute).
_CONNECT_SECONDS = 2.0


class LogReads:
    """The pools the log is read from: `replica` (None when none is set) first, `primary` as the fallback."""

    def __init__(self, primary: asyncpg.Pool, replica: asyncpg.Pool | None) -> None:
        self.primary = primary
        self.replica = replica
        self._replica_retry_at = 0.0

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection for a read of one statement (one statement is one snapshot)."""
        async with self._opened(transaction=False) as conn:
            yield conn

    @contextlib.asynccontextmanager
    async def snapshot(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection inside a read-only repeatable-read transaction: every statement sees one snapshot.
        Allowed on a hot standby, and what makes a consistency check and the read after it agree."""
        async with self._opened(transaction=True) as conn:
            yield conn

    @contextlib.asynccontextmanager
    async def _opened(self, transaction: bool) -> AsyncIterator[asyncpg.Connection]:
        async with contextlib.AsyncExitStack() as stack:
            conn = await self._open_on_replica(stack, transaction) if self._replica_usable() else None
            if conn is None:
                READ_SNAPSHOTS.labels("primary").inc()
                conn = await _open(self.primary, stack, transaction)
                yield conn
                return
            READ_SNAPSHOTS.labels("replica").inc()
            try:
                yield conn
            except REPLICA_UNAVAILABLE as exc:
                # Lost under a read: this one fails (503, try again); the next ones go to the primary. Only
                # if the replica failed: a client that went away mid-download raises a ConnectionError too.
                if conn.is_closed() or isinstance(exc, asyncpg.PostgresError):
                    self._replica_failed(exc)
                raise

    def _replica_usable(self) -> bool:
        return self.replica is not None and asyncio.get_running_loop().time() >= self._replica_retry_at

    async def _open_on_replica(self, stack: contextlib.AsyncExitStack, transaction: bool) -> asyncpg.Connection | None:
        assert self.replica is not None
        attempt = contextlib.AsyncExitStack()
        try:
            conn = await _open(self.replica, attempt, transaction)
        except REPLICA_UNAVAILABLE as exc:
            await attempt.aclose()
            self._replica_failed(exc)
            return None
        if self._replica_retry_at:
            self._replica_retry_at = 0.0
            log.info("reporting_replica_back")
        stack.push_async_exit(attempt)
        return conn

    def _replica_failed(self, exc: BaseException) -> None:
        self._replica_retry_at = asyncio.get_running_loop().time() + RETRY_REPLICA_SECONDS
        log.warning("reporting_replica_unavailable", error=repr(exc), reads_from="primary",
                    retry_in_s=RETRY_REPLICA_SECONDS)


async def _open(pool: asyncpg.Pool, stack: contextlib.AsyncExitStack, transaction: bool) -> asyncpg.Connection:
    conn: asyncpg.Connection = await stack.enter_async_context(pool.acquire())
    if transaction:
        await stack.enter_async_context(conn.transaction(isolation="repeatable_read", readonly=True))
    return conn


async def _as_it_is(conn: asyncpg.Connection) -> None:
    """No reset on release, as common.db's pools: a read sets no session state (see common.db)."""


async def replica_pool(dsn: str, size: int) -> asyncpg.Pool:
    """A pool that connects only when first used (min_size 0): a replica down at start-up does not stop
    the service, its reads go to the primary until it answers."""
    pool = await asyncpg.create_pool(
        dsn, min_size=0, max_size=size, reset=_as_it_is, command_timeout=30, timeout=_CONNECT_SECONDS
    )
    assert pool is not None
    return pool


READS = web.AppKey("reads", LogReads)


def reads_ctx(replica_dsn: str | None, size: int) -> CleanupCtx:
    """After the database context (it needs the primary's pool): LogReads under READS."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        replica = await replica_pool(replica_dsn, size) if replica_dsn else None
        app[READS] = LogReads(app[DB], replica)
        if replica_dsn:
            log.info("reporting_reads_from_replica")
        yield
        if replica is not None:
            await close_pool(replica, "replica pool")

    return ctx
