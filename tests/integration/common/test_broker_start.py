"""A service's broker start-up outlives a declaration the broker refuses once (as a busy RabbitMQ does
when creating a quorum queue times out: 541 INTERNAL_ERROR closes the whole connection)."""

from __future__ import annotations

import aio_pika

from common.bus import Broker
from tests.conftest import Infra


class _RemovesTheObstacleAfterTheFirstFailure(Broker):
    """Clears the conflicting queue once the first declaration has failed and been abandoned, so the
    second attempt meets a broker that accepts it."""

    def __init__(self, url: str, exchange: str, obstacle: str) -> None:
        super().__init__(url, exchange)
        self.obstacle = obstacle
        self.abandoned = 0

    async def _abandon_connection(self) -> None:
        await super()._abandon_connection()
        self.abandoned += 1
        connection = await aio_pika.connect(self._url)
        async with connection:
            await (await connection.channel()).queue_delete(self.obstacle)


async def test_a_refused_topology_is_declared_again_on_a_new_connection_and_the_broker_works(
    infra: Infra, exchange_name: str
):
    obstacle = f"{exchange_name}.billing.ledger-events"
    connection = await aio_pika.connect(infra.broker_url)
    async with connection:
        # A classic queue where the topology wants a quorum one: the declaration is refused.
        await (await connection.channel()).declare_queue(obstacle, durable=True)

    broker = _RemovesTheObstacleAfterTheFirstFailure(infra.broker_url, exchange_name, obstacle)
    await broker.connect()
    try:
        assert broker.abandoned == 1
        assert broker.is_connected
        connection = await aio_pika.connect(infra.broker_url)
        async with connection:
            channel = await connection.channel()
            # Declared again by the retry, as the topology wants it (passive: it must exist).
            queue = await channel.declare_queue(obstacle, passive=True)
            assert queue.name == obstacle
            # and the retried connection publishes with confirms.
            await broker.publish_raw(b"{}", "m-1", "some.key")
    finally:
        await broker.close()
