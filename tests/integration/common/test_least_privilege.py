"""Least privilege between the services, on the real Postgres and RabbitMQ: provisioned by scripts/provision.py
under names of this run's own (roles, databases, a vhost, users), removed afterwards.

The ledger's credentials cannot reach billing's database nor read its tables, cannot consume, declare or
delete another service's queue, nor publish another service's events or into another's queue; they can do
all of it for the ledger's own. A service started with its own credentials migrates its database and
declares its queues, and refuses to start when another service's queue is missing.

Needs a RabbitMQ node that `rabbitmqctl` on this machine administers (root on a machine with the
rabbitmq-server package, as CI and `make run` have): skipped otherwise."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import aio_pika
import aiormq.exceptions
import asyncpg
import pytest

from common.bus import Broker
from common.contracts import events, queues
from common.db import migrate
from common.topology import filter_exchange_of
from scripts import provision
from services.billing.app import MIGRATIONS as BILLING_MIGRATIONS
from tests.conftest import Infra, StartService


def _rabbitmqctl_administers(broker_url: str) -> bool:
    if urlsplit(broker_url).hostname not in {"127.0.0.1", "localhost"}:
        return False
    try:
        return subprocess.run(["rabbitmqctl", "-q", "list_vhosts"], capture_output=True,
                              timeout=60, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@dataclass
class Provisioned:
    names: provision.Names
    urls: dict[str, str]  # LEDGER_DATABASE_URL, LEDGER_BROKER_URL, ...
    admin_broker_url: str

    def queue(self, spec: queues.QueueSpec) -> str:
        return f"{self.names.exchange}.{spec.name}"


@pytest.fixture(scope="module")
def ctl(infra: Infra) -> provision.Rabbitmqctl:
    if not _rabbitmqctl_administers(infra.broker_url):
        pytest.skip("no local RabbitMQ node that rabbitmqctl administers here (root on the broker's machine)")
    return provision.Rabbitmqctl()


@pytest.fixture(scope="module")
async def provisioned(infra: Infra, ctl: provision.Rabbitmqctl) -> AsyncIterator[Provisioned]:
    run = f"lp{infra.run_id}{uuid.uuid4().hex[:4]}"
    names = provision.Names(prefix=f"{run}_", vhost=f"{run}-vhost", exchange=f"{run}-events",
                            database_prefix=f"{run}_")
    passwords = {name: uuid.uuid4().hex for name in provision.password_variables()}
    admin_postgres = infra.database_url("postgres")
    address = urlsplit(infra.broker_url).netloc.rsplit("@", 1)[-1]
    try:
        urls = await provision.provision_postgres(admin_postgres, passwords, names)
        urls |= await asyncio.to_thread(provision.provision_rabbitmq, address, ctl, passwords, names)
        admin = provision.admin_broker_url(address, passwords, names)
        await provision.declare_topology(admin, names.exchange)
        yield Provisioned(names, urls, admin)
    finally:
        await provision.remove_postgres(admin_postgres, names)
        await asyncio.to_thread(provision.remove_rabbitmq, ctl, names)


@pytest.fixture
async def ledger_connection(provisioned: Provisioned) -> AsyncIterator[aio_pika.abc.AbstractConnection]:
    connection = await aio_pika.connect(provisioned.urls["LEDGER_BROKER_URL"])
    yield connection
    await connection.close()


# --- Postgres ----------------------------------------------------------------------------------------------

async def test_the_ledgers_role_cannot_open_billings_database_nor_read_its_tables(
    provisioned: Provisioned, infra: Infra
):
    billing_url = provisioned.urls["BILLING_DATABASE_URL"]
    await migrate(billing_url, BILLING_MIGRATIONS)  # billing's real migrations, as billing's role
    billing = await asyncpg.connect(billing_url)
    try:
        owners = {r["owner"] for r in await billing.fetch(
            "SELECT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relnamespace = 'public'::regnamespace")}
        assert owners == {provisioned.names.user("billing")}
        assert await billing.fetchval("SELECT count(*) FROM purchases") == 0
    finally:
        await billing.close()

    ledger_user = urlsplit(provisioned.urls["LEDGER_DATABASE_URL"])
    ledger_into_billing = ledger_user._replace(path=urlsplit(billing_url).path).geturl()
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="CONNECT"):
        await asyncpg.connect(ledger_into_billing)

    # A second wall behind the first: were CONNECT granted by mistake, billing's tables are still its own.
    superuser = await asyncpg.connect(infra.database_url(provisioned.names.database("billing")))
    try:
        await superuser.execute(f'GRANT CONNECT ON DATABASE "{provisioned.names.database("billing")}" '
                                f'TO "{provisioned.names.user("ledger")}"')
        ledger = await asyncpg.connect(ledger_into_billing)
        try:
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await ledger.fetch("SELECT * FROM purchases")
        finally:
            await ledger.close()
    finally:
        await superuser.execute(f'REVOKE CONNECT ON DATABASE "{provisioned.names.database("billing")}" '
                                f'FROM "{provisioned.names.user("ledger")}"')
        await superuser.close()


async def test_each_role_owns_its_database_and_may_create_nothing_else(provisioned: Provisioned):
    ledger = await asyncpg.connect(provisioned.urls["LEDGER_DATABASE_URL"])
    try:
        role = await ledger.fetchrow(
            "SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = current_user")
        assert tuple(role) == (False, False, False)
        owner = await ledger.fetchval(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()")
        assert owner == provisioned.names.user("ledger")
        # Every other service's database refuses it.
        others = [provisioned.names.database(s) for s in provision.SERVICES if s != "ledger"]
        allowed = await ledger.fetch(
            "SELECT datname FROM pg_database WHERE datname = ANY($1) AND has_database_privilege(datname, 'CONNECT')",
            others)
        assert allowed == []
    finally:
        await ledger.close()


# --- RabbitMQ ----------------------------------------------------------------------------------------------

async def _ignore(message: aio_pika.abc.AbstractIncomingMessage) -> None:
    return None


async def _refused(connection: aio_pika.abc.AbstractConnection, action: str, provisioned: Provisioned) -> None:
    """Do `action` on a channel of its own and expect ACCESS_REFUSED (which closes that channel)."""
    channel = await connection.channel()
    reporting = provisioned.queue(queues.REPORTING_LEDGER_EVENTS)
    with pytest.raises(aiormq.exceptions.ChannelAccessRefused):
        if action == "get":
            await (await channel.get_queue(reporting, ensure=True)).get(no_ack=False, fail=False)
        elif action == "consume":
            await (await channel.get_queue(reporting, ensure=True)).consume(_ignore)
        elif action == "delete":
            await channel.queue_delete(reporting)
        elif action == "declare":
            await channel.declare_queue(f"{provisioned.names.exchange}.reporting.spy", durable=True)
        elif action == "delete-exchange":
            await channel.exchange_delete(provisioned.names.exchange)
        else:
            raise AssertionError(action)


@pytest.mark.parametrize("action", ["get", "consume", "delete", "declare", "delete-exchange"])
async def test_the_ledgers_user_cannot_touch_reportings_queue_or_the_shared_exchange(
    provisioned: Provisioned, ledger_connection: aio_pika.abc.AbstractConnection, action: str
):
    await _refused(ledger_connection, action, provisioned)


async def test_the_ledgers_user_consumes_its_own_queue(
    provisioned: Provisioned, ledger_connection: aio_pika.abc.AbstractConnection
):
    channel = await ledger_connection.channel()
    own = await channel.get_queue(provisioned.queue(queues.LEDGER_PURCHASES), ensure=True)
    assert await own.get(no_ack=False, fail=False) is None  # allowed, and empty
    tag = await own.consume(_ignore)
    await own.cancel(tag)


async def _publish(connection: aio_pika.abc.AbstractConnection, exchange: str, routing_key: str) -> None:
    channel = await connection.channel(publisher_confirms=True)
    target = channel.default_exchange if exchange == "" else await channel.get_exchange(exchange, ensure=False)
    await target.publish(aio_pika.Message(b"{}", message_id=uuid.uuid4().hex), routing_key=routing_key, timeout=10)


async def test_the_ledgers_user_publishes_its_own_events_only_to_the_event_exchange(
    provisioned: Provisioned, ledger_connection: aio_pika.abc.AbstractConnection
):
    exchange = provisioned.names.exchange
    await _publish(ledger_connection, exchange, events.routing_key(events.TRANSACTION_POSTED))
    reporting = provisioned.queue(queues.REPORTING_LEDGER_EVENTS)
    admin = await aio_pika.connect(provisioned.admin_broker_url)
    async with admin:
        queue = await (await admin.channel()).get_queue(reporting, ensure=True)
        arrived = await queue.get(no_ack=True, fail=False, timeout=5)
        assert arrived is not None  # the ledger's event reached its consumer

    forbidden = [
        (exchange, events.routing_key(events.PURCHASE_PAID)),  # billing's event: minting credits
        ("", reporting),  # straight into reporting's queue through the default exchange
        (filter_exchange_of(provisioned.queue(queues.BILLING_LEDGER_EVENTS)), "x"),  # billing's own exchange
    ]
    for target, key in forbidden:
        with pytest.raises(aiormq.exceptions.ChannelAccessRefused):
            await _publish(ledger_connection, target, key)


# --- a service's start with its own credentials --------------------------------------------------------------

async def test_the_ledger_starts_with_its_own_credentials(provisioned: Provisioned, start_service: StartService):
    from services.ledger.app import create_app
    from services.ledger.settings import LedgerSettings

    ledger = await start_service("ledger", create_app, LedgerSettings,
                                 database_url=provisioned.urls["LEDGER_DATABASE_URL"],
                                 broker_url=provisioned.urls["LEDGER_BROKER_URL"], exchange=provisioned.names.exchange)
    answer = await ledger.client.get("/readyz")
    assert answer.status == 200, await answer.text()
    conn = await asyncpg.connect(provisioned.urls["LEDGER_DATABASE_URL"])
    try:
        assert await conn.fetchval("SELECT count(*) FROM schema_migrations") > 0  # migrated as its role
    finally:
        await conn.close()


async def test_a_service_refuses_to_start_when_another_services_queue_is_missing(provisioned: Provisioned):
    reporting = provisioned.queue(queues.REPORTING_DIRECTORY)
    admin = await aio_pika.connect(provisioned.admin_broker_url)
    async with admin:
        await (await admin.channel()).queue_delete(reporting)
    broker = Broker(provisioned.urls["LEDGER_BROKER_URL"], provisioned.names.exchange)
    try:
        with pytest.raises(aiormq.exceptions.ChannelNotFoundEntity, match=reporting):
            await broker.connect(attempts=1, declaring_attempts=1)
    finally:
        await broker.close()
        # The admin's step puts it back, as the deployment's would.
        await provision.declare_topology(provisioned.admin_broker_url, provisioned.names.exchange)
    broker = Broker(provisioned.urls["LEDGER_BROKER_URL"], provisioned.names.exchange)
    await broker.connect(attempts=1, declaring_attempts=1)
    await broker.close()


def test_every_service_connects_as_its_own_user(provisioned: Provisioned):
    for service in provision.SERVICES:
        for kind in ("DATABASE", "BROKER"):
            url = provisioned.urls[f"{service.upper()}_{kind}_URL"]
            assert urlsplit(url).username == provisioned.names.user(service), url.split(":")[0]
