"""Whether a running system has caught up with the load it was given: every running service's outbox
published, every queue of a running service empty, and reporting's 30-day log holding every transaction the
ledger posted since a mark.

Consumers lag behind the answers a client gets, so what a transfer costs is counted until this holds,
not until the last answer. RabbitMQ tells a passive declare only the messages ready, not those delivered
and not yet acknowledged (billing may hold 32, webhooks 400): reporting's count is exact; the last few events
of billing and webhooks (which record only the events some endpoint wants) are covered by asking for two
consecutive polls that find everything caught up.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from types import TracebackType

import aio_pika
import asyncpg

from bench import infra
from bench.system import System

_POLL_SECONDS = 0.1
# What each transaction the ledger posts leaves behind: a row in reporting's applied transactions.
_COUNTS = {
    "ledger": "SELECT count(*) FROM transactions",
    "reporting": "SELECT count(*) FROM applied_transactions",
}
_UNPUBLISHED = "SELECT count(*) FROM outbox WHERE published_at IS NULL"


@dataclass(frozen=True)
class Mark:
    """The counts at a moment: what has to grow by as much as the ledger's transactions did."""

    counts: dict[str, int]


class Backlog:
    """`async with Backlog(running) as backlog`: one connection to each running service's database and
    one to the broker, held while it polls (a connection per poll would cost RabbitMQ and Postgres CPU
    that the benchmark measures)."""

    def __init__(self, running: System) -> None:
        self._running = running
        self._databases: dict[str, asyncpg.Connection] = {}
        self._broker: aio_pika.abc.AbstractConnection | None = None
        self._channel: aio_pika.abc.AbstractChannel | None = None

    async def __aenter__(self) -> Backlog:
        for service in self._running.processes:
            self._databases[service] = await infra.connect(self._running.database_url(service))
        self._broker = await aio_pika.connect(infra.BROKER_URL)
        self._channel = await self._broker.channel()
        return self

    async def __aexit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        for conn in self._databases.values():
            with contextlib.suppress(Exception):
                await conn.close()
        if self._broker is not None:
            await self._broker.close()

    async def mark(self) -> Mark:
        return Mark({service: int(await self._databases[service].fetchval(sql))
                     for service, sql in _COUNTS.items() if service in self._databases})

    async def caught_up(self, since: Mark) -> bool:
        now = await self.mark()
        posted = now.counts["ledger"] - since.counts["ledger"]
        if any(now.counts[s] - since.counts[s] < posted for s in now.counts if s != "ledger"):
            return False
        for conn in self._databases.values():
            if await conn.fetchval(_UNPUBLISHED):
                return False
        assert self._channel is not None
        return await infra.ready_on(self._channel, self._running.exchange, frozenset(self._running.processes)) == 0

    async def wait(self, since: Mark, limit_seconds: float) -> float | None:
        """Seconds until caught up (two polls in a row), or None if it was not within the limit."""
        started = time.perf_counter()
        streak = 0
        while time.perf_counter() - started < limit_seconds:
            streak = streak + 1 if await self.caught_up(since) else 0
            if streak == 2:
                return time.perf_counter() - started
            await asyncio.sleep(_POLL_SECONDS)
        return None

