from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from common.contracts import events
from common.contracts.events import Event, TransactionPosted
from services.billing.purchases.consumers import ledger_events_handler
from tests.conftest import Infra
from tests.integration.billing.harness import Billing
from tests.integration.billing.ledger_support import publish
from tests.support import eventually


def _posted(billing: Billing, purchase_id: str, seq: int, kind: str = "purchase") -> Event:
    payload = TransactionPosted(
        transaction_id=uuid.uuid4(), seq=seq, tenant_id=billing.buyer.tenant_id, kind=kind,
        occurred_at=datetime.now(UTC), reference=f"purchase:{purchase_id}", postings=[],
    )
    return Event.new(type=events.TRANSACTION_POSTED, source="ledger", subject=None, data=payload)




async def _credited_at(billing: Billing, purchase_id: str) -> datetime | None:
    async with billing.pool.acquire() as conn:
        value: datetime | None = await conn.fetchval(
            "SELECT credited_at FROM purchases WHERE id = $1", uuid.UUID(purchase_id)
        )
        return value


async def test_the_ledgers_posting_marks_the_purchase_credited_once_even_if_delivered_twice(
    infra: Infra, billing: Billing
) -> None:
    purchase = await billing.purchase()
    await billing.pay(purchase)
    posted = _posted(billing, purchase["id"], seq=41)

    await publish(billing, posted)
    await publish(billing, posted)

    await billing.wait_for_status(purchase["id"], "credited")

    async def both_seen() -> bool:
        async with billing.pool.acquire() as conn:
            return bool(await conn.fetchval("SELECT count(*) FROM inbox WHERE event_id = $1", posted.id) == 1)

    await eventually(both_seen)
    first_credit = await _credited_at(billing, purchase["id"])
    await asyncio.sleep(0.5)  # the second delivery has had its chance to change something
    _, body = await billing.get(f"/purchases/{purchase['id']}")
    assert (body["status"], body["consistency_token"]) == ("credited", 41)
    assert await _credited_at(billing, purchase["id"]) == first_credit


async def test_concurrent_duplicate_postings_credit_once(billing: Billing) -> None:
    purchase = await billing.purchase()
    await billing.pay(purchase)
    posted = _posted(billing, purchase["id"], seq=7)
    handle = ledger_events_handler(billing.app)

    await asyncio.gather(*(handle(posted) for _ in range(5)))

    async with billing.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM inbox WHERE consumer = 'billing.ledger-events'") == 1
    _, body = await billing.get(f"/purchases/{purchase['id']}")
    assert (body["status"], body["consistency_token"]) == ("credited", 7)


async def test_postings_of_other_kinds_are_ignored(billing: Billing) -> None:
    purchase = await billing.purchase()
    await billing.pay(purchase)
    handle = ledger_events_handler(billing.app)

    await handle(_posted(billing, purchase["id"], seq=3, kind="transfer"))

    assert await billing.status_of(purchase["id"]) == "paid"
    async with billing.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM inbox WHERE consumer = 'billing.ledger-events'") == 0


async def test_a_posting_for_a_purchase_not_yet_paid_changes_nothing(billing: Billing) -> None:
    purchase = await billing.purchase()
    handle = ledger_events_handler(billing.app)

    await handle(_posted(billing, purchase["id"], seq=3))

    assert await billing.status_of(purchase["id"]) == "pending"
