"""The shared servers a run borrows: Postgres databases and a RabbitMQ exchange of its own, and a sink
that empties the queues of services a benchmark does not start (otherwise their events would pile up
in a broker other people's tests use too)."""

from __future__ import annotations

import asyncio
import contextlib
import os

import aio_pika
import asyncpg

from common.bus import filter_exchange_of
from common.contracts.queues import TOPOLOGY
from common.settings import LOCAL_POSTGRES, LOCAL_RABBITMQ

POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", LOCAL_POSTGRES)
BROKER_URL = os.environ.get("BENCH_BROKER_URL", LOCAL_RABBITMQ)


# The benchmark's own connections to a service's database carry this name, so that they are never
# counted among the service's Postgres backends (see system.System.backend_pids).
APPLICATION_NAME = "bench"


async def connect(dsn: str) -> asyncpg.Connection:
    return await asyncpg.connect(dsn, server_settings={"application_name": APPLICATION_NAME})


def database_url(name: str) -> str:
    return f"{POSTGRES_URL.rstrip('/')}/{name}"


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def create_database(name: str) -> str:
    admin = await asyncpg.connect(database_url("postgres"))
    try:
        await admin.execute(f"CREATE DATABASE {_quoted(name)}")
    finally:
        await admin.close()
    return database_url(name)


async def drop_databases(names: list[str]) -> None:
    admin = await asyncpg.connect(database_url("postgres"))
    try:
        for name in names:
            await admin.execute(f"DROP DATABASE IF EXISTS {_quoted(name)} WITH (FORCE)")
    finally:
        await admin.close()


async def free_connections() -> int:
    """Connections Postgres can still accept, leaving the superuser reserve alone."""
    admin = await asyncpg.connect(database_url("postgres"))
    try:
        value = await admin.fetchval(
            """SELECT current_setting('max_connections')::int
                      - current_setting('superuser_reserved_connections')::int
                      - (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')"""
        )
    finally:
        await admin.close()
    return int(value)


def queue_names(exchange: str, services: frozenset[str] | None = None) -> list[str]:
    """The consumer queues of the topology (of these services only, when named)."""
    return [
        f"{exchange}.{spec.name}" for spec in TOPOLOGY
        if services is None or spec.name.split(".", 1)[0] in services
    ]


async def delete_topology(exchange: str) -> None:
    """Every queue, dead-letter queue and exchange the services declared for this run."""
    connection = await aio_pika.connect(BROKER_URL)
    async with connection:
        channel = await connection.channel()
        for queue in queue_names(exchange):
            for name in (queue, f"{queue}.dlq"):
                await channel.queue_delete(name)
            # A queue that takes only some of its events has a headers exchange of its own in front of it
            # (common.bus); deleting one that does not exist is not an error.
            await channel.exchange_delete(filter_exchange_of(queue))
        await channel.exchange_delete(exchange)
        await channel.exchange_delete(f"{exchange}.dlx")


async def ready_messages(exchange: str, services: frozenset[str]) -> int:
    """Messages waiting in the queues of these services (not counting those being processed)."""
    connection = await aio_pika.connect(BROKER_URL)
    async with connection:
        return await ready_on(await connection.channel(), exchange, services)


async def ready_on(channel: aio_pika.abc.AbstractChannel, exchange: str, services: frozenset[str]) -> int:
    """`ready_messages` on a channel the caller holds open."""
    total = 0
    for name in queue_names(exchange, services):
        queue = await channel.declare_queue(name, passive=True)
        total += queue.declaration_result.message_count or 0
    return total


class QueueSink:
    """Purges, every `every` seconds, the queues whose consumer is not running in this benchmark."""

    def __init__(self, queues: list[str], every: float = 1.0) -> None:
        self._queues = queues
        self._every = every
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._queues:
            self._task = asyncio.create_task(self._run(), name="queue-sink")

    async def _run(self) -> None:
        while True:
            # A lost broker connection must not end the benchmark: the next round reconnects.
            with contextlib.suppress(aio_pika.exceptions.AMQPError, OSError):
                connection = await aio_pika.connect(BROKER_URL)
                async with connection:
                    channel = await connection.channel()
                    while True:
                        for name in self._queues:
                            queue = await channel.declare_queue(name, passive=True)
                            await queue.purge()
                        await asyncio.sleep(self._every)
            await asyncio.sleep(self._every)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
