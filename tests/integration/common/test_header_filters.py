"""A queue with header filters (billing's ledger events) receives only the events whose headers match
one filter; a queue without (reporting's) receives every event of its types."""

from __future__ import annotations

import uuid

import aio_pika

from common.bus import Broker
from common.contracts import events, queues
from common.contracts.headers import transaction_headers
from tests.conftest import Infra
from tests.support import eventually


async def _depth(infra: Infra, queue: str) -> int:
    connection = await aio_pika.connect(infra.broker_url)
    async with connection:
        declared = await (await connection.channel()).declare_queue(queue, passive=True)
        count = declared.declaration_result.message_count
        assert count is not None
        return count


async def test_billing_receives_purchases_and_watched_accounts_transactions_and_reporting_receives_all(
    infra: Infra, broker: Broker
):
    key = events.routing_key(events.TRANSACTION_POSTED)
    sent = {
        "a purchase": transaction_headers("purchase", False),
        "a transfer between others": transaction_headers("transfer", False),
        "a capture of a watched account": transaction_headers("capture", True),
        "a hold without headers (from before them)": None,
    }
    for headers in sent.values():
        await broker.publish_raw(b"{}", str(uuid.uuid4()), key, headers)

    billing = broker.queue_name(queues.BILLING_LEDGER_EVENTS.name)
    reporting = broker.queue_name(queues.REPORTING_LEDGER_EVENTS.name)

    async def routed() -> bool:
        return await _depth(infra, reporting) == 4 and await _depth(infra, billing) == 2

    await eventually(routed, timeout=5)
    connection = await aio_pika.connect(infra.broker_url)
    async with connection:
        queue = await (await connection.channel()).get_queue(billing)
        received = [await queue.get(no_ack=True, timeout=5) for _ in range(2)]
    assert sorted(m.headers["ledger-kind"] for m in received) == ["capture", "purchase"]  # type: ignore[type-var]


async def test_declaring_again_removes_a_direct_binding_from_before_the_filter(infra: Infra, broker: Broker):
    billing = broker.queue_name(queues.BILLING_LEDGER_EVENTS.name)
    key = events.routing_key(events.TRANSACTION_POSTED)
    connection = await aio_pika.connect(infra.broker_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.get_queue(billing)
        await queue.bind(broker.exchange_name, routing_key=key)  # as the previous release bound it

    again = Broker(infra.broker_url, broker.exchange_name)
    await again.connect()
    try:
        await again.publish_raw(b"{}", str(uuid.uuid4()), key, transaction_headers("transfer", False))
        await again.publish_raw(b"{}", str(uuid.uuid4()), key, transaction_headers("purchase", False))

        async def purchase_only() -> bool:
            return await _depth(infra, billing) == 1

        await eventually(purchase_only, timeout=5)
    finally:
        await again.close()
