"""Delivery receipts settle SMS, against real Postgres, the real SMPP client and the SMSC simulator's test
numbers: each recipient moves accepted -> delivered | undeliverable | expired | rejected, and one that will
not arrive after its credits were captured is announced once for a refund (messaging.message.undelivered),
even when receipts repeat or arrive before the carrier's answer is recorded."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

import asyncpg

from common import sms
from common.db import migrate
from services.messaging.app import MIGRATIONS
from services.messaging.sending import store as sending_store
from services.messaging.sending import usecases as sending
from services.messaging.sending.domain import Receipt
from tests.conftest import Infra
from tests.integration.messaging.conftest import MessagingHarness, number
from tests.support import NEVER_RECEIPTED, REJECTED_AT_SUBMIT, UNDELIVERABLE, eventually


async def _undelivered(messaging: MessagingHarness, message_id: str) -> list[dict[str, Any]]:
    rows = await messaging.pool.fetch("SELECT envelope FROM outbox WHERE routing_key = 'messaging.message.undelivered'")
    return [r["envelope"]["data"] for r in rows if r["envelope"]["data"]["message_id"] == message_id]


async def _recipients(messaging: MessagingHarness, message_id: str, tenant: uuid.UUID,
                      user: uuid.UUID) -> dict[str, dict[str, Any]]:
    response = await messaging.client.get(f"/messages/{message_id}", headers=messaging.token(tenant, user))
    assert response.status == 200, await response.text()
    return {r["to"]: r for r in (await response.json())["recipients"]}


async def test_each_test_number_ends_as_documented_and_only_captured_failures_are_announced(
    messaging: MessagingHarness,
) -> None:
    tenant, user = uuid.uuid4(), uuid.uuid4()
    delivered, undeliverable, silent, rejected = (number(), number(UNDELIVERABLE), number(NEVER_RECEIPTED),
                                                  number(REJECTED_AT_SUBMIT))
    order = messaging.order([delivered, undeliverable, silent, rejected], body="x" * 200)  # 2 segments each
    await messaging.hand_over(order, tenant, user)
    settled = await messaging.settlement(order["id"])
    assert settled["captured_credits"] == 6  # three accepted recipients, two segments each

    async def receipted() -> bool:
        found = await _recipients(messaging, order["id"], tenant, user)
        return (found[delivered]["delivery"], found[undeliverable]["delivery"]) == ("delivered", "undeliverable")

    await eventually(receipted, timeout=10)
    [announced] = await _undelivered(messaging, order["id"])
    assert (announced["status"], announced["credits"], announced["hold_id"]) == ("undeliverable", 2, order["hold_id"])
    assert announced["recipient"] == sms.mask(undeliverable) != undeliverable  # the number is not in events

    # No receipt for the silent one: once the validity period is over, it is expired, and announced too.
    assert await sending.expire_unreceipted(messaging.pool, validity_seconds=3600) == 0
    assert await sending.expire_unreceipted(messaging.pool, validity_seconds=0) == 1
    assert await sending.expire_unreceipted(messaging.pool, validity_seconds=0) == 0
    found = await _recipients(messaging, order["id"], tenant, user)
    assert {to: (r["delivery"], r["credits"], r["credits_returned"]) for to, r in found.items()} == {
        delivered: ("delivered", 2, 0), undeliverable: ("undeliverable", 2, 2), silent: ("expired", 2, 2),
        rejected: ("rejected", 0, 0)}  # refused at submission: never charged, nothing to give back
    assert sorted(a["status"] for a in await _undelivered(messaging, order["id"])) == ["expired", "undeliverable"]


async def test_a_repeated_receipt_and_one_before_the_answer_announce_once(messaging: MessagingHarness) -> None:
    tenant, user = uuid.uuid4(), uuid.uuid4()
    to = number(UNDELIVERABLE)
    order = messaging.order([to])
    await messaging.hand_over(order, tenant, user)
    await messaging.settlement(order["id"])

    async def announced() -> bool:
        return bool(await _undelivered(messaging, order["id"]))

    await eventually(announced, timeout=10)
    [carrier_id] = (await _recipients_carrier_ids(messaging, order["id"]))
    for _ in range(3):  # the carrier sends it again, and again
        await sending.record_receipt(messaging.pool, Receipt(carrier_id, "UNDELIV", "001"))
    assert len(await _undelivered(messaging, order["id"])) == 1


async def test_a_receipt_that_overtakes_the_carriers_answer_settles_the_recipient_when_the_answer_comes(
    messaging: MessagingHarness,
) -> None:
    tenant, user = uuid.uuid4(), uuid.uuid4()
    order = messaging.order([number()])
    await messaging.hand_over(order, tenant, user)
    await messaging.settlement(order["id"])
    part = await messaging.pool.fetchrow("SELECT id FROM parts WHERE message_id = $1", uuid.UUID(order["id"]))
    assert part is not None
    # As if the answer had not been recorded yet: forget it, let the receipt come, then record the answer.
    await messaging.pool.execute(
        """UPDATE parts SET state = 'submitting', next_segment = 1, carrier_ids = '{}', delivery = NULL,
                            accepted_at = NULL WHERE id = $1""", part["id"])
    await messaging.pool.execute("DELETE FROM segments WHERE part_id = $1", part["id"])
    await messaging.pool.execute("UPDATE messages SET settled_at = NULL WHERE id = $1", uuid.UUID(order["id"]))
    await sending.record_receipt(messaging.pool, Receipt("early-1", "UNDELIV", "001"))
    await sending.segment_accepted(messaging.pool, uuid.UUID(order["id"]), part["id"], 1, "early-1", last=True)
    [announced] = await _undelivered(messaging, order["id"])
    assert announced["part_id"] == str(part["id"]) and announced["status"] == "undeliverable"


async def _recipients_carrier_ids(messaging: MessagingHarness, message_id: str) -> list[str]:
    rows = await messaging.pool.fetch("SELECT carrier_ids FROM parts WHERE message_id = $1", uuid.UUID(message_id))
    return [c for r in rows for c in r["carrier_ids"]]


async def test_a_receipt_stored_but_never_applied_settles_its_recipient_instead_of_expiry(
    messaging: MessagingHarness,
) -> None:
    tenant, user = uuid.uuid4(), uuid.uuid4()
    order = messaging.order([number(NEVER_RECEIPTED)])
    await messaging.hand_over(order, tenant, user)
    await messaging.settlement(order["id"])
    [carrier_id] = await _recipients_carrier_ids(messaging, order["id"])
    # As if the receipt had been stored while nobody could apply it: only the receipts table has it.
    await messaging.pool.execute("INSERT INTO receipts (carrier_id, stat) VALUES ($1, 'DELIVRD')", carrier_id)
    assert await sending.expire_unreceipted(messaging.pool, validity_seconds=0) == 1
    [recipient] = (await _recipients(messaging, order["id"], tenant, user)).values()
    assert (recipient["delivery"], recipient["credits_returned"]) == ("delivered", 0)
    assert await _undelivered(messaging, order["id"]) == []


async def test_a_retried_hand_over_is_answered_as_stored_even_when_the_prices_changed_since(
    messaging: MessagingHarness,
) -> None:
    tenant, user = uuid.uuid4(), uuid.uuid4()
    order = {**messaging.order(["+6421234567"]), "credits": 2, "credits_per_segment": [2]}  # New Zealand
    assert (await messaging.hand_over(order, tenant, user))[0] == 201
    await messaging.pool.execute("UPDATE destination_rates SET credits_per_segment = 5 WHERE region = 'NZ'")
    try:
        status, again = await messaging.hand_over(order, tenant, user)  # the gateway's retry
        assert (status, again["id"]) == (200, order["id"])  # not 409: the message is being sent
        fresh = {**order, "id": str(uuid.uuid4()), "hold_id": str(uuid.uuid4())}
        assert (await messaging.hand_over(fresh, tenant, user))[0] == 409  # a new one: priced anew
    finally:
        await messaging.pool.execute("UPDATE destination_rates SET credits_per_segment = 2 WHERE region = 'NZ'")


async def test_history_keeps_what_it_was_when_delivery_receipts_start_to_settle_sms(
    infra: Infra, tmp_path: Path,
) -> None:
    before = tmp_path / "before"
    before.mkdir()
    for path in sorted(MIGRATIONS.glob("*.sql")):
        if path.name < "0003_delivery.sql":
            shutil.copy(path, before / path.name)
    dsn = infra.database_url(f"t_{infra.run_id}_messaging_upgrade_{uuid.uuid4().hex[:6]}")
    await migrate(dsn, before)
    conn = await asyncpg.connect(dsn)
    try:
        message = uuid.uuid4()
        await conn.execute(
            """INSERT INTO messages (id, tenant_id, sender_user_id, account_code, hold_id, hold_expires_at, body,
                                     encoding, segments, credits, request_hash, settled_at, captured_credits)
               VALUES ($1, $2, $3, 'system', $4, now(), 'Hi', 'gsm7', 1, 3, 'h', now() - interval '3 days', 2)""",
            message, uuid.uuid4(), uuid.uuid4(), uuid.uuid4())
        parts = {name: uuid.uuid4() for name in ("delivered", "unknown", "refused")}
        history = (("delivered", "accepted", "c-1"), ("unknown", "accepted", "c-2"), ("refused", "rejected", None))
        for position, (name, state, carrier) in enumerate(history):
            await conn.execute(
                """INSERT INTO parts (id, message_id, position, recipient, state, next_segment, carrier_ids, updated_at)
                   VALUES ($1, $2, $3, '+61412345678', $4, 2, $5, now() - interval '3 days')""",
                parts[name], message, position, state, [carrier] if carrier else [])
        await conn.execute("INSERT INTO receipts (carrier_id, stat) VALUES ('c-1', 'DELIVRD')")
        await migrate(dsn, MIGRATIONS)
        rows = {r["id"]: (r["delivery"], r["legacy"], r["refund_announced_at"])
                for r in await conn.fetch("SELECT id, delivery, legacy, refund_announced_at FROM parts")}
        assert rows == {parts["delivered"]: ("delivered", True, None), parts["unknown"]: (None, True, None),
                        parts["refused"]: ("rejected", True, None)}
        # Three days old, no receipt: not expired, not announced (the policy is not retroactive).
        assert await sending_store.parts_past_validity(conn, 0) == []
        assert await sending_store.parts_owing_refund(conn, message) == []
    finally:
        await conn.close()
        admin = await asyncpg.connect(infra.database_url("postgres"))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{dsn.rsplit("/", 1)[1]}" WITH (FORCE)')
        finally:
            await admin.close()
