"""The broker's topology under one exchange name: the names of its exchanges and queues, and their
declaration, by an operator's step before the services start and by each service at its own start.

    python -m common.topology    # BROKER_ADMIN_URL, EXCHANGE_NAME (default sms-credits) from the environment

Names (`exchange` is EXCHANGE_NAME, `sms-credits` in production, a per-run name in tests):
  `<exchange>`                  the topic exchange every event is published to
  `<exchange>.dlx`              the direct exchange of dead letters, routed by queue name
  `<exchange>.<spec>`           a consumer's quorum queue (common.contracts.queues.TOPOLOGY), `.dlq` its dead letters
  `<exchange>.<spec>.filter`    the headers exchange in front of a queue that takes only some events
  `<exchange>.transient.<purpose>.<hex>`  a process's own exclusive queue (Broker.subscribe_transient)

Who declares what (docs/security.md). With credentials that may configure everything (the broker's admin,
or `guest` in tests and a bare `make run`), a service declares the whole topology itself, as before. With
a service's own credentials it may configure only its own queues: it declares those and checks that every
other queue exists (a passive declaration, which needs no permission), and fails at start if one is
missing. The whole topology is then declared beforehand with the admin credentials by `declare_topology`:
`python -m scripts.provision topology` or `python -m common.topology` (`make run`, docker-compose's
`topology` step); in Kubernetes the messaging topology operator declares it (scripts/k8s_manifests.py).
So no producer can publish into an exchange whose consumers' queues are not bound yet, and no service
holds the right to declare, bind or delete another's queue or the shared exchanges.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from typing import Any

import aio_pika
import aiormq.exceptions
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange

from common.contracts.queues import TOPOLOGY, QueueSpec
from common.logs import get_logger

log = get_logger(__name__)

# After this many failed deliveries RabbitMQ moves the message to the dead-letter queue itself, so a
# message that crashes its handler every time cannot block the queue forever.
DELIVERY_LIMIT = 30
MISSING_HINT = ("the topology is declared with the broker's admin credentials before the services start: "
                "`python -m scripts.provision topology` (docs/security.md)")


def queue_name(exchange: str, spec_name: str) -> str:
    # Prefixed by the exchange so that test runs sharing one broker never share queues.
    return f"{exchange}.{spec_name}"


def dead_letter_exchange_of(exchange: str) -> str:
    return f"{exchange}.dlx"


def filter_exchange_of(queue: str) -> str:
    """The headers exchange in front of a queue that takes only some of its events (QueueSpec.header_filters):
    one name for declaring it, for every clean-up that deletes it and for the permissions that cover it."""
    return f"{queue}.filter"


def transient_queue_name(exchange: str, purpose: str) -> str:
    return f"{exchange}.transient.{purpose}.{uuid.uuid4().hex}"


def queue_arguments(spec: QueueSpec, name: str, dead_letters: str) -> dict[str, Any]:
    """A consumer queue's arguments: fixed when it is first declared, so every declarer uses these."""
    return {
        "x-queue-type": "quorum",
        "x-delivery-limit": DELIVERY_LIMIT,
        "x-dead-letter-exchange": dead_letters,
        "x-dead-letter-routing-key": name,
        **({"x-single-active-consumer": True} if spec.single_active else {}),
    }


async def _may_declare_exchange(connection: AbstractConnection, name: str, kind: aio_pika.ExchangeType) -> bool:
    """Whether these credentials may declare it: tried on a channel of its own, which a refusal closes."""
    try:
        async with await connection.channel() as channel:
            await channel.declare_exchange(name, kind, durable=True)
    except aiormq.exceptions.ChannelAccessRefused:
        return False
    return True


async def declare_exchanges(
    connection: AbstractConnection, channel: AbstractChannel, exchange: str, strict: bool = False
) -> tuple[AbstractExchange, AbstractExchange]:
    """The event exchange and the dead-letter exchange on `channel`: declared when these credentials may
    (`strict`: they must), else looked up passively (they must exist)."""
    declared = []
    for name, kind in ((exchange, aio_pika.ExchangeType.TOPIC),
                       (dead_letter_exchange_of(exchange), aio_pika.ExchangeType.DIRECT)):
        allowed = strict or await _may_declare_exchange(connection, name, kind)
        try:
            declared.append(await channel.declare_exchange(name, kind, durable=True, passive=not allowed))
        except aiormq.exceptions.ChannelNotFoundEntity:
            log.error("broker_exchange_missing", exchange=name, hint=MISSING_HINT)
            raise
    return declared[0], declared[1]


async def declare_queues(
    connection: AbstractConnection, exchange: AbstractExchange, dead_letters: AbstractExchange, strict: bool = False
) -> None:
    """Every queue of TOPOLOGY with its bindings, those these credentials may declare (`strict`: all of
    them); each of the others must exist. Each on a channel of its own, all at once: a channel waits for
    each declaration in turn, and creating a quorum queue is the slow part of a service's start."""
    outcomes = await asyncio.gather(
        *(_declare_or_verify(connection, exchange, dead_letters, spec, strict) for spec in TOPOLOGY),
        return_exceptions=True,
    )
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome


async def _declare_or_verify(
    connection: AbstractConnection, exchange: AbstractExchange, dead_letters: AbstractExchange,
    spec: QueueSpec, strict: bool,
) -> None:
    name = queue_name(exchange.name, spec.name)
    try:
        await declare_queue(connection, exchange, dead_letters, spec)
        return
    except aiormq.exceptions.ChannelAccessRefused:
        if strict:
            raise
    # Another service's queue: these credentials may not declare it, only see that it is there.
    for existing in (name, f"{name}.dlq"):
        try:
            async with await connection.channel() as channel:
                await channel.declare_queue(existing, passive=True)
        except aiormq.exceptions.ChannelNotFoundEntity:
            log.error("broker_queue_missing", queue=existing, hint=MISSING_HINT)
            raise


async def declare_queue(
    connection: AbstractConnection, exchange: AbstractExchange, dead_letters: AbstractExchange, spec: QueueSpec
) -> None:
    name = queue_name(exchange.name, spec.name)
    async with await connection.channel() as channel:
        # The queue first: a refusal (another service's queue) then comes before anything is changed.
        queue = await channel.declare_queue(
            name, durable=True, arguments=queue_arguments(spec, name, dead_letters.name)
        )
        dead = await channel.declare_queue(f"{name}.dlq", durable=True, arguments={"x-queue-type": "quorum"})
        await dead.bind(dead_letters, routing_key=name)
        if not spec.header_filters:
            for key in spec.routing_keys:
                await queue.bind(exchange, routing_key=key)
            return
        # The spec's events pass through a headers exchange of the queue's own, which lets in only
        # those whose headers match a filter. A direct binding from before the filter is removed.
        sieve = await channel.declare_exchange(filter_exchange_of(name), aio_pika.ExchangeType.HEADERS, durable=True)
        for key in spec.routing_keys:
            await sieve.bind(exchange, routing_key=key)
            await queue.unbind(exchange, routing_key=key)
        for wanted in spec.header_filters:
            await queue.bind(sieve, arguments={"x-match": "all", **wanted})


async def declare_topology(broker_url: str, exchange: str) -> None:
    """Declare every exchange, queue and binding of the system, or raise: the operator's step, run with the
    broker's admin credentials before any service starts (a service's own may declare only its queues)."""
    connection = await aio_pika.connect(broker_url)
    async with connection:
        channel = await connection.channel()
        events, dead_letters = await declare_exchanges(connection, channel, exchange, strict=True)
        await declare_queues(connection, events, dead_letters, strict=True)
    log.info("broker_topology_declared", exchange=exchange, queues=len(TOPOLOGY))


def main() -> int:
    """The operator's step as a command: docker-compose's `topology` service runs it (its image has no scripts/)."""
    url = os.environ.get("BROKER_ADMIN_URL")
    if not url:
        sys.stderr.write("python -m common.topology: set BROKER_ADMIN_URL (the broker's admin, not a service's user)\n")
        return 2
    asyncio.run(_declare_when_reachable(url, os.environ.get("EXCHANGE_NAME", "sms-credits")))
    return 0


async def _declare_when_reachable(url: str, exchange: str, seconds: int = 60) -> None:
    # A node that has just started may not have loaded its users yet (definitions are imported at boot).
    for attempt in range(seconds):
        try:
            await declare_topology(url, exchange)
            return
        except (OSError, aio_pika.exceptions.AMQPConnectionError) as exc:
            if attempt == seconds - 1:
                raise
            if attempt == 0:
                log.warning("broker_unreachable", error=str(exc), retrying=f"every 1 s for up to {seconds} s")
            await asyncio.sleep(1)


if __name__ == "__main__":
    raise SystemExit(main())
