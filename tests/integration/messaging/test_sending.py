"""Messaging against real Postgres and RabbitMQ and the SMSC simulator: what is submitted, how, and
what is settled."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import pytest

from common import sms
from services.messaging.messages import domain, usecases
from services.messaging.sending import domain as sending
from services.messaging.sending import usecases as sending_usecases
from tests.integration.messaging.conftest import MessagingHarness, number
from tests.support import REJECTED_AT_SUBMIT, UNDELIVERABLE, eventually


async def _status(messaging: MessagingHarness, message_id: str, tenant: uuid.UUID, user: uuid.UUID) -> dict[str, Any]:
    response = await messaging.client.get(f"/messages/{message_id}", headers=messaging.token(tenant, user))
    assert response.status == 200, await response.text()
    return dict(await response.json())


async def test_a_rejected_recipient_of_three_is_not_charged_and_the_other_two_are(messaging: MessagingHarness):
    good, rejected = [number(), number()], number(REJECTED_AT_SUBMIT)
    order = messaging.order([good[0], rejected, good[1]], body="x" * 200)  # 2 segments each
    status, accepted = await messaging.hand_over(order)
    assert status == 201 and accepted["status"] == "queued" and accepted["credits"] == 6

    settled = await messaging.settlement(order["id"])
    assert settled["captured_credits"] == 4 and settled["accepted_recipients"] == 2
    assert settled["hold_id"] == order["hold_id"] and settled["recipients"] == 3
    assert [len(messaging.accepted_for(n)) for n in good] == [2, 2]
    assert messaging.accepted_for(rejected) == []
    assert [r["destination"] for r in messaging.smsc.rejected] == [rejected.lstrip("+")]  # once: not offered again


async def test_the_settlement_carries_the_id_of_the_request_that_handed_the_message_over(
    messaging: MessagingHarness,
):
    order = messaging.order([number()])
    request_id = uuid.uuid4().hex
    response = await messaging.client.post("/messages", json=order, headers={
        **messaging.token(uuid.uuid4(), uuid.uuid4()), "X-Request-ID": request_id})
    assert response.status == 201
    await messaging.settlement(order["id"])  # settled later, by the sender, outside that request
    envelopes = [r["envelope"] for r in await messaging.pool.fetch("SELECT envelope FROM outbox")
                 if r["envelope"]["data"]["message_id"] == order["id"]]
    assert {e["type"]: e["requestid"] for e in envelopes} == {
        "com.smscredits.messaging.message.queued": request_id,
        "com.smscredits.messaging.message.settled": request_id,
    }
    assert {e["subject"] for e in envelopes} == {f"tenants/{envelopes[0]['data']['tenant_id']}/messages/{order['id']}"}


async def test_concatenated_ucs2_parts_carry_their_header_and_data_coding(messaging: MessagingHarness):
    to, body = number(), "Привет! " * 10 + "🎉"  # 82 code units: two UCS-2 segments
    order = messaging.order([to], body=body)
    assert order["segments"] == 2
    await messaging.hand_over(order)
    await messaging.settlement(order["id"])
    parts = [bytes.fromhex(s.short_message) for s in messaging.accepted_for(to)]
    reference = uuid.UUID(order["id"]).int & 0xFF
    assert [p[:6] for p in parts] == [bytes([5, 0, 3, reference, 2, seq]) for seq in (1, 2)]
    assert {(s.data_coding, s.esm_class) for s in messaging.accepted_for(to)} == {(0x08, 0x40)}
    assert b"".join(p[6:] for p in parts).decode("utf-16-be") == body


async def test_gsm_text_goes_as_default_alphabet_septets_with_escapes(messaging: MessagingHarness):
    to = number()
    order = messaging.order([to], body="Price: 5€ [sale]")
    await messaging.hand_over(order)
    await messaging.settlement(order["id"])
    [submission] = messaging.accepted_for(to)
    assert (submission.data_coding, submission.esm_class) == (0, 0)
    assert bytes.fromhex(submission.short_message).decode("gsm03.38") == "Price: 5€ [sale]"


async def test_delivery_receipts_mark_recipients_delivered_or_failed(messaging: MessagingHarness):
    tenant, user = uuid.uuid4(), uuid.uuid4()
    delivered, undeliverable = number(), number(UNDELIVERABLE)
    order = messaging.order([delivered, undeliverable])
    await messaging.hand_over(order, tenant, user)

    async def final() -> bool:
        return (await _status(messaging, order["id"], tenant, user))["status"] not in ("queued", "submitted")

    await eventually(final, timeout=10)
    message = await _status(messaging, order["id"], tenant, user)
    assert message["status"] == "delivered" and message["captured_credits"] == 2
    assert {r["to"]: r["status"] for r in message["recipients"]} == {delivered: "delivered", undeliverable: "failed"}


async def test_only_the_sender_and_masters_of_the_tenant_see_a_message(messaging: MessagingHarness):
    tenant, user = uuid.uuid4(), uuid.uuid4()
    order = messaging.order([number()])
    await messaging.hand_over(order, tenant, user)
    path = f"/messages/{order['id']}"
    for headers, expected in ((messaging.token(tenant, uuid.uuid4()), 403),
                              (messaging.token(tenant, uuid.uuid4(), role="master"), 200),
                              (messaging.token(uuid.uuid4(), user), 404)):
        response = await messaging.client.get(path, headers=headers)
        assert response.status == expected


async def test_handing_over_again_is_one_message_and_a_different_one_under_its_id_is_refused(
    messaging: MessagingHarness,
):
    tenant, user = uuid.uuid4(), uuid.uuid4()
    order = messaging.order([number()])
    first = await messaging.hand_over(order, tenant, user)
    again = await messaging.hand_over(order, tenant, user)
    assert (first[0], again[0]) == (201, 200) and again[1]["id"] == first[1]["id"]
    status, problem = await messaging.hand_over({**order, "body": "Something else"}, tenant, user)
    assert status == 409, problem
    await messaging.settlement(order["id"])
    assert len(messaging.accepted_for(order["recipients"][0])) == 1


async def test_a_hold_that_pays_for_less_than_the_message_is_refused(messaging: MessagingHarness):
    order = messaging.order([number(), number()])
    for wrong in ({"credits": 1}, {"segments": 2, "credits": 4}, {"recipients": ["0412345678"], "credits": 1}):
        status, problem = await messaging.hand_over({**order, **wrong})
        assert status == 422, (wrong, problem)
    assert await messaging.pool.fetchval("SELECT count(*) FROM messages") == 0


async def test_a_segment_whose_answer_was_lost_in_a_crash_is_submitted_again_and_sent_once(
    messaging: MessagingHarness, monkeypatch: pytest.MonkeyPatch
):
    """The process died after the carrier took segment 1 and before its answer was recorded: on the
    next delivery it is offered again under the same reference, and the carrier sends it only once."""
    to = number()
    order = domain.Order(**{**_as_order(messaging.order([to])), "tenant_id": uuid.uuid4(),
                            "sender_user_id": uuid.uuid4()})
    # Stored without the queue event, so that only this test drives the sender. (Deleting the event
    # after the fact raced the relay, which could publish it first and let the sender run.)
    async def no_event(*_: object) -> None:
        return None

    with monkeypatch.context() as patched:
        patched.setattr(usecases.outbox, "enqueue", no_event)
        await usecases.accept(messaging.pool, order)
    [part] = await messaging.pool.fetch("SELECT id FROM parts WHERE message_id = $1", order.message_id)
    assert await sending_usecases.begin_segment(messaging.pool, part["id"], 1)
    pdu = sending.pdus(sms.segment(order.body), 0)[0]
    first = await messaging.link.submit(to, pdu, sending.carrier_reference(part["id"], 1))
    assert first.accepted  # ... and then the process died

    await messaging.sender.send(order.message_id)
    settled = await messaging.settlement(str(order.message_id))
    [submission] = messaging.accepted_for(to)
    assert submission.duplicates == 1 and settled["captured_credits"] == 1
    carrier_ids = await messaging.pool.fetchval("SELECT carrier_ids FROM parts WHERE id = $1", part["id"])
    assert carrier_ids == [first.carrier_id]


async def test_nothing_is_submitted_when_the_hold_is_about_to_expire(messaging: MessagingHarness):
    to = number()
    order = messaging.order([to], expires_in=30)  # inside the 60 s margin
    status, _ = await messaging.hand_over(order)
    assert status == 201
    settled = await messaging.settlement(order["id"])
    assert settled["captured_credits"] == 0 and settled["accepted_recipients"] == 0
    assert messaging.accepted_for(to) == []


def _as_order(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "message_id": uuid.UUID(body["id"]), "hold_id": uuid.UUID(body["hold_id"]),
        "hold_expires_at": datetime.fromisoformat(body["hold_expires_at"]), "account_code": body["account_code"],
        "recipients": tuple(body["recipients"]), "body": body["body"], "segments": body["segments"],
        "credits": body["credits"],
    }
