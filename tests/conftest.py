"""Where Postgres and RabbitMQ come from, decided once for the whole run.

1. `TEST_POSTGRES_URL` / `TEST_BROKER_URL` name servers to use (CI and the developer machines).
2. Otherwise, where a Docker engine answers, testcontainers starts throwaway ones.
3. Otherwise the local servers on their default ports.

Every test gets databases and an exchange named after this run and itself, so tests never collide
and a run leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
import pytest

from common.db import migrate
from common.settings import LOCAL_POSTGRES, LOCAL_RABBITMQ

if TYPE_CHECKING:
    from tests.harness import RunningService


# `make test` runs the suite in two processes (pytest-xdist, `--dist loadgroup`), one per core: most of a
# test's time is spent waiting on services, queues and the browser. A group runs whole in one process:
# the end-to-end and security folders share one running system each (and the security folder reads its
# own logs last), the fault campaign runs alone in its group, and every other module keeps its
# module-scoped fixtures in one process.
WHOLE_FOLDERS = ("chaos", "e2e", "security")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(str(item.path)).relative_to(Path(__file__).parent)
        group = path.parts[0] if path.parts[0] in WHOLE_FOLDERS else path.as_posix()
        item.add_marker(pytest.mark.xdist_group(group))


@dataclass
class Infra:
    postgres_url: str  # server URL without a database name
    broker_url: str
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    created_databases: list[str] = field(default_factory=list)

    def database_url(self, name: str) -> str:
        return f"{self.postgres_url.rstrip('/')}/{name}"


def _docker_available() -> bool:
    """Whether a Docker engine answers. Probed with a plain socket first: the docker client leaks its
    socket when the engine is missing, which pytest (warnings as errors) reports as a failure."""
    import socket

    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not host.startswith("unix://"):
        return True  # a remote engine: let testcontainers try it
    with socket.socket(socket.AF_UNIX) as probe:
        probe.settimeout(1)
        try:
            probe.connect(host.removeprefix("unix://"))
            probe.sendall(b"GET /_ping HTTP/1.0\r\n\r\n")
            return b" 200 " in probe.recv(64)
        except OSError:
            return False


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    postgres = os.environ.get("TEST_POSTGRES_URL")
    broker = os.environ.get("TEST_BROKER_URL")
    with contextlib.ExitStack() as stack:
        if not (postgres and broker) and _docker_available():
            from testcontainers.postgres import PostgresContainer
            from testcontainers.rabbitmq import RabbitMqContainer

            pg = stack.enter_context(PostgresContainer("postgres:15", driver=None))
            postgres = postgres or pg.get_connection_url().rsplit("/", 1)[0]
            mq = stack.enter_context(RabbitMqContainer("rabbitmq:3.13"))
            broker = broker or f"amqp://guest:guest@{mq.get_container_host_ip()}:{mq.get_exposed_port(5672)}/"
        yield Infra(postgres_url=postgres or LOCAL_POSTGRES, broker_url=broker or LOCAL_RABBITMQ)


NewDatabase = Callable[[str], Awaitable[str]]

# A database made for one of these starts with the service's migrations applied: cloned from a template
# migrated once per run (CREATE DATABASE ... TEMPLATE), not migrated again for each of some 250 tests.
# The service still runs its migrations at start-up, and finds them all applied.
SERVICE_APPS = {
    "gateway": "gateway.app",
    **{name: f"services.{name}.app" for name in ("ledger", "billing", "reporting", "messaging", "webhooks")},
}


def _service_migrations(purpose: str) -> Path:
    # Imported when first needed: a run of the unit tests alone never loads the services.
    migrations: Path = importlib.import_module(SERVICE_APPS[purpose]).MIGRATIONS
    return migrations


@pytest.fixture(scope="session")
async def database_templates(infra: Infra) -> AsyncIterator[dict[str, str]]:
    """Per service, the name of this run's migrated template database, made when first asked for."""
    templates: dict[str, str] = {}
    yield templates
    conn = await asyncpg.connect(infra.database_url("postgres"))
    try:
        for name in templates.values():
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture
async def new_database(infra: Infra, database_templates: dict[str, str]) -> AsyncIterator[NewDatabase]:
    """Create a database for this test (dropped afterwards); answers its URL. Named for a service, it
    holds that service's schema; named otherwise, it is empty."""
    created: list[str] = []

    async def template_for(purpose: str) -> str | None:
        if purpose not in SERVICE_APPS:
            return None
        if purpose not in database_templates:
            name = f"t_{infra.run_id}_template_{purpose}"
            await migrate(infra.database_url(name), _service_migrations(purpose))  # creates it first
            database_templates[purpose] = name
        return database_templates[purpose]

    async def make(purpose: str) -> str:
        name = f"t_{infra.run_id}_{purpose}_{uuid.uuid4().hex[:6]}"
        template = await template_for(purpose)
        conn = await asyncpg.connect(infra.database_url("postgres"))
        try:
            await conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        finally:
            await conn.close()
        created.append(name)
        return infra.database_url(name)

    yield make
    conn = await asyncpg.connect(infra.database_url("postgres"))
    try:
        for name in created:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def topology_deletions() -> AsyncIterator[set[asyncio.Task[None]]]:
    """Deletions of tests' exchanges and queues still under way; the run waits for them at its end."""
    pending: set[asyncio.Task[None]] = set()
    yield pending
    await asyncio.gather(*pending)


@pytest.fixture
async def exchange_name(infra: Infra, topology_deletions: set[asyncio.Task[None]]) -> AsyncIterator[str]:
    """A topic exchange (and so queue names) of this test's own, deleted with its queues afterwards: in
    the background, while the next test runs (its names are its own), since deleting some 20 quorum
    queues takes a fifth of a second."""
    name = f"test-{infra.run_id}-{uuid.uuid4().hex[:6]}"
    yield name
    deletion = asyncio.create_task(delete_topology(infra.broker_url, name))
    topology_deletions.add(deletion)
    deletion.add_done_callback(topology_deletions.discard)


async def delete_topology(broker_url: str, exchange: str) -> None:
    import aio_pika

    from common.bus import filter_exchange_of
    from common.contracts.queues import TOPOLOGY

    connection = await aio_pika.connect(broker_url)
    async with connection:
        channel = await connection.channel()
        await asyncio.gather(*(
            channel.queue_delete(queue)
            for spec in TOPOLOGY
            for queue in (f"{exchange}.{spec.name}", f"{exchange}.{spec.name}.dlq")
        ))
        await asyncio.gather(*(
            channel.exchange_delete(filter_exchange_of(f"{exchange}.{spec.name}"))
            for spec in TOPOLOGY if spec.header_filters
        ))
        await channel.exchange_delete(exchange)
        await channel.exchange_delete(f"{exchange}.dlx")


StartService = Callable[..., Awaitable["RunningService"]]


@pytest.fixture
async def start_service(
    infra: Infra, new_database: NewDatabase, exchange_name: str
) -> AsyncIterator[StartService]:
    """Start a service under test (see tests/harness.py); stopped, with its broker connection, afterwards.

    `start_service(name, create_app, settings_class, port=None, **overrides)`: the settings get this test's
    database for `name` (unless `database_url` is given), the run's broker, this test's exchange and the
    shared internal secret; keyword arguments override any of them."""
    from aiohttp.test_utils import TestClient, TestServer

    from common.bus import Broker
    from tests.harness import INTERNAL_SECRET
    from tests.harness import RunningService as Running

    started: list[RunningService] = []

    async def start(name: str, create_app: Any, settings_class: Any, port: int | None = None,
                    **overrides: Any) -> RunningService:
        values: dict[str, Any] = {
            "broker_url": infra.broker_url, "exchange": exchange_name, "internal_token_secret": INTERNAL_SECRET,
            **overrides,
        }
        if port is not None:
            values["port"] = port  # a service that names its own address (a webhook URL) must know it
        if "database_url" not in values:
            values["database_url"] = await new_database(name)
        settings = settings_class(**values)
        server = TestServer(create_app(settings), host="127.0.0.1", port=port)
        client: TestClient[Any, Any] = TestClient(server)
        await client.start_server()
        broker = Broker(infra.broker_url, exchange_name)
        await broker.connect()
        service = Running(name, client, settings, broker)
        started.append(service)
        return service

    yield start
    for service in reversed(started):
        await service.broker.close()
        await service.client.close()
