"""One delivery of a message sends at a time (services/messaging/sending/sender.py, the message's claim):
two deliveries of one `message.queued` at once, as a relay's second publish or two replicas give, submit
each segment once; a delivery whose sender died is resumed once its lease runs out."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime
from typing import Any

import pytest

from services.messaging.messages import domain, usecases
from services.messaging.sending import usecases as sending_usecases
from services.messaging.sending.sender import MessageSender
from tests.integration.messaging.conftest import MessagingHarness, number

LONG_BODY = "A message of two segments: " + "x" * 150


async def _stored_without_its_event(messaging: MessagingHarness, monkeypatch: pytest.MonkeyPatch,
                                    recipients: list[str]) -> uuid.UUID:
    """A message accepted as the API accepts it, but with no `message.queued` for the service's own
    consumer: only the test's deliveries send it."""
    body = messaging.order(recipients, body=LONG_BODY)
    order = domain.Order(
        message_id=uuid.UUID(body["id"]), hold_id=uuid.UUID(body["hold_id"]),
        hold_expires_at=datetime.fromisoformat(body["hold_expires_at"]), account_code=body["account_code"],
        recipients=tuple(body["recipients"]), body=body["body"], segments=body["segments"],
        credits=body["credits"], tenant_id=uuid.uuid4(), sender_user_id=uuid.uuid4(),
    )

    async def no_event(*_: Any) -> None:
        return None

    with monkeypatch.context() as patched:
        patched.setattr(usecases.outbox, "enqueue", no_event)
        await usecases.accept(messaging.pool, order)
    return order.message_id


async def test_two_deliveries_of_one_message_at_once_submit_each_segment_once(
        messaging: MessagingHarness, monkeypatch: pytest.MonkeyPatch):
    recipients = [number() for _ in range(3)]
    message_id = await _stored_without_its_event(messaging, monkeypatch, recipients)
    other_replica = MessageSender(messaging.pool, messaging.link, messaging.settings)

    await asyncio.gather(messaging.sender.send(message_id), other_replica.send(message_id))

    settled = await messaging.settlement(str(message_id))
    assert settled["captured_credits"] == 2 * len(recipients)
    for to in recipients:
        submissions = messaging.accepted_for(to)
        # Without the claim both deliveries pass `begin_segment` and submit every segment: the carrier
        # sees each reference twice (the simulator counts them; a carrier that does not would send twice).
        assert len(submissions) == 2 and [s.duplicates for s in submissions] == [0, 0], to
    claim = await messaging.pool.fetchrow(
        "SELECT sender_token, sender_lease_until FROM messages WHERE id = $1", message_id)
    assert tuple(claim) == (None, None)  # released


async def test_a_message_whose_sender_died_is_resumed_once_its_lease_runs_out(
        messaging: MessagingHarness, monkeypatch: pytest.MonkeyPatch):
    to = number()
    message_id = await _stored_without_its_event(messaging, monkeypatch, [to])
    dead_lease = 1.0
    assert await sending_usecases.claim_sending(messaging.pool, message_id, uuid.uuid4(), dead_lease)
    started = time.monotonic()

    await MessageSender(messaging.pool, messaging.link, messaging.settings, lease_seconds=0.3).send(message_id)

    assert time.monotonic() - started >= dead_lease * 0.9  # it waited for the dead sender's lease
    settled = await messaging.settlement(str(message_id))
    assert settled["captured_credits"] == 2
    assert [s.duplicates for s in messaging.accepted_for(to)] == [0, 0]


async def test_a_delivery_waiting_for_a_held_claim_neither_sends_nor_gives_up(
        messaging: MessagingHarness, monkeypatch: pytest.MonkeyPatch):
    to = number()
    message_id = await _stored_without_its_event(messaging, monkeypatch, [to])
    holder = uuid.uuid4()
    assert await sending_usecases.claim_sending(messaging.pool, message_id, holder, 30)
    waiting = asyncio.create_task(
        MessageSender(messaging.pool, messaging.link, messaging.settings, lease_seconds=0.3).send(message_id))
    await asyncio.sleep(0.3)
    assert not waiting.done()  # the claim is held: it neither sends nor gives up
    assert messaging.accepted_for(to) == []

    await sending_usecases.release_sending(messaging.pool, message_id, holder)  # the holder is done with it
    await MessageSender(messaging.pool, messaging.link, messaging.settings).send(message_id)
    await asyncio.wait_for(waiting, timeout=5)
    assert [s.duplicates for s in messaging.accepted_for(to)] == [0, 0]
