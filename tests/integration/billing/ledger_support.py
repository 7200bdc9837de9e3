"""Playing the ledger's part for a billing under test: its events, published on the exchange the way
the ledger's relay publishes them, so billing's consumers receive them as in production."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime
from typing import Any

import aio_pika
from pydantic import BaseModel

from common import accounts
from common.contracts import events
from common.contracts.events import Event, HoldChange, Posting, TransactionPosted
from common.contracts.headers import transaction_headers
from tests.integration.billing.harness import GOOD_CARD, Billing, Buyer
from tests.support import eventually

_SEQ = itertools.count(1000)


def next_seq() -> int:
    return next(_SEQ)


async def publish(billing: Billing, *published: Event, watched: bool = True) -> None:
    """Publish as the ledger does, headers included: a transaction marked as touching an account with
    auto top-up on (`watched`: these tests' accounts have it, or are about to)."""
    connection = await aio_pika.connect(billing.settings.broker_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(billing.settings.exchange)
        for event in published:
            routing: dict[str, Any] | None = None
            if event.type == events.TRANSACTION_POSTED:
                routing = dict(transaction_headers(event.payload(TransactionPosted).kind, watched))
            message = aio_pika.Message(event.to_json(), message_id=str(event.id), headers=routing)
            await exchange.publish(message, event.routing_key)


def ledger_event(event_type: str, payload: BaseModel, subject: str | None = None) -> Event:
    return Event.new(type=event_type, source="ledger", subject=subject, data=payload)


def posted(tenant_id: uuid.UUID, kind: str, seq: int, reference: str | None = None,
           postings: list[Posting] | None = None, holds: list[HoldChange] | None = None) -> Event:
    payload = TransactionPosted(transaction_id=uuid.uuid4(), seq=seq, tenant_id=tenant_id, kind=kind,
                                occurred_at=datetime.now(UTC), reference=reference, postings=postings or [],
                                holds=holds or [])
    return ledger_event(events.TRANSACTION_POSTED, payload)


def spent_down_to(tenant_id: uuid.UUID, code: str, available: int, seq: int) -> Event:
    """A capture that left the account with `available` credits."""
    account = accounts.account_id(tenant_id, code)
    return posted(tenant_id, "capture", seq, postings=[
        Posting(account_id=account, account_code=code, amount=-1, balance_after=available),
        Posting(account_id=accounts.account_id(tenant_id, "spent"), account_code="spent", amount=1, balance_after=1),
    ])


def credit_of(purchase: dict[str, Any], tenant_id: uuid.UUID, seq: int, balance_after: int | None = None) -> Event:
    code = purchase["account_code"]
    quantity = purchase["quantity"]
    return posted(tenant_id, "purchase", seq, reference=f"purchase:{purchase['id']}", postings=[
        Posting(account_id=accounts.account_id(tenant_id, "world"), account_code="world", amount=-quantity,
                balance_after=-quantity),
        Posting(account_id=uuid.UUID(purchase["account_id"]), account_code=code, amount=quantity,
                balance_after=quantity if balance_after is None else balance_after),
    ])


async def credited_purchase(
    billing: Billing, quantity: int = 1000, card: str = GOOD_CARD, buyer: Buyer | None = None
) -> dict[str, Any]:
    """A purchase paid with `card` and credited by the (played) ledger."""
    buyer = buyer or billing.buyer
    purchase = await billing.purchase(quantity, buyer=buyer)
    status, answer = await billing.pay(purchase, card)
    assert status == 200 and answer["outcome"] == "succeeded", answer
    await publish(billing, credit_of(purchase, buyer.tenant_id, next_seq()))

    async def credited() -> bool:
        _, body = await billing.get(f"/purchases/{purchase['id']}", buyer)
        return bool(body["status"] == "credited")

    await eventually(credited)
    _, body = await billing.get(f"/purchases/{purchase['id']}", buyer)
    return dict(body)
