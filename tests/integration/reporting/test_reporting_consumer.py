"""Ledger events into the log: against real Postgres and RabbitMQ, observed through GET /logs."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from common import accounts
from common.contracts.events import Event
from common.runtime import DB
from services.reporting.entries import domain, usecases
from tests.conftest import Infra
from tests.integration.reporting.reporting_support import FakeLedger, Reporting, dead_letters, publish_raw

TENANT = uuid.uuid4()
ALICE = uuid.uuid4()
SYSTEM_ID = accounts.account_id(TENANT, "system")
ALICE_ID = accounts.account_id(TENANT, accounts.user_code(ALICE))
WORLD_ID = accounts.account_id(TENANT, "world")
EVERY_ACCOUNT = [SYSTEM_ID, ALICE_ID, WORLD_ID]


async def test_a_posted_transfer_appears_in_the_log_of_both_accounts(reporting: Reporting, ledger: FakeLedger) -> None:
    actor = uuid.uuid4()
    when = datetime(2026, 11, 25, 3, 4, 5, 678901, tzinfo=UTC)
    transfer = await ledger.post(
        TENANT,
        "transfer",
        [("system", -30, 70), (accounts.user_code(ALICE), 30, 30)],
        occurred_at=when,
        actor_user_id=actor,
        reference="TR-1",
        note="for the open home",
    )
    await reporting.wait_applied(transfer.seq)

    status, body = await reporting.logs(TENANT, [SYSTEM_ID], days=30)

    assert status == 200
    assert body["next_cursor"] is None and body["stale"] is False
    assert body["entries"] == [
        {
            "id": str(domain.entry_id(transfer.transaction_id, SYSTEM_ID)),
            "occurred_at": "2026-11-25T03:04:05.678901Z",
            "account_id": str(SYSTEM_ID),
            "transaction_id": str(transfer.transaction_id),
            "direction": "out",
            "quantity": 30,
            "kind": "transfer",
            "balance_after": 70,
            "counterparty": accounts.user_code(ALICE),
            "actor": str(actor),
            "reference": "TR-1",
            "note": "for the open home",
            "reservation": False,
            "promotional": 0,
            "lot_expires_at": None,
        }
    ]
    [alice_entry] = await reporting.entries(TENANT, [ALICE_ID])
    assert (alice_entry["direction"], alice_entry["quantity"], alice_entry["balance_after"]) == ("in", 30, 30)
    assert alice_entry["counterparty"] == "system"


async def test_internal_accounts_never_appear_and_their_transactions_still_count_as_applied(
    reporting: Reporting, ledger: FakeLedger
) -> None:
    purchase = await ledger.post(TENANT, "purchase", [("world", -500, -500), ("system", 500, 500)])
    internal_only = await ledger.post(TENANT, "refund", [("spent", -2, 0), ("world", 2, -498)])
    await reporting.wait_applied(purchase.seq, internal_only.seq)

    entries = await reporting.entries(TENANT, [*EVERY_ACCOUNT, accounts.account_id(TENANT, "spent")])

    assert [(e["account_id"], e["kind"], e["counterparty"]) for e in entries] == [(str(SYSTEM_ID), "purchase", "world")]


async def test_the_same_event_delivered_twice_gives_the_same_rows(reporting: Reporting, ledger: FakeLedger) -> None:
    purchase = ledger.event(ledger.transaction(TENANT, "purchase", [("world", -5, -5), ("system", 5, 5)]))
    hold = ledger.event(ledger.transaction(TENANT, "hold", [], reserves=[("system", 2, 2, 5)]))
    for event in (purchase, hold):
        await ledger.publish(event)
        await reporting.wait_applied(event.data["seq"])
    once = await reporting.entries(TENANT, EVERY_ACCOUNT)

    for event in (purchase, hold):
        await ledger.publish(event)
    # Delivered in order, so once a later event is applied the duplicates have reached their handler
    # too (handlers may overlap; the concurrent test below covers that case directly).
    later = await ledger.post(TENANT, "purchase", [("world", -1, -6), ("system", 1, 6)])
    await reporting.wait_applied(later.seq)

    twice = await reporting.entries(TENANT, EVERY_ACCOUNT)
    assert twice[1:] == once and len(once) == 2
    assert [(e["kind"], e["reservation"]) for e in once] == [("hold", True), ("purchase", False)]
    assert [r["n"] for r in await reporting.sql("SELECT count(*) AS n FROM log_entries")] == [3]


async def test_holds_voids_and_expiries_are_reservation_rows_and_a_capture_shows_only_its_spending(
    reporting: Reporting, ledger: FakeLedger
) -> None:
    alice = accounts.user_code(ALICE)
    start = datetime.now(UTC) - timedelta(minutes=10)
    posted = [
        await ledger.post(TENANT, "transfer", [("system", -20, 80), (alice, 20, 20)], start),
        await ledger.post(TENANT, "hold", [], start + timedelta(minutes=1), reserves=[(alice, 5, 5, 20)]),
        await ledger.post(TENANT, "capture", [(alice, -3, 17), ("spent", 3, 3)], start + timedelta(minutes=2),
                          reserves=[(alice, -5, 0, 17)]),
        await ledger.post(TENANT, "hold", [], start + timedelta(minutes=3), reserves=[(alice, 4, 4, 17)]),
        await ledger.post(TENANT, "void", [], start + timedelta(minutes=4), reserves=[(alice, -4, 0, 17)]),
        await ledger.post(TENANT, "hold", [], start + timedelta(minutes=5), reserves=[(alice, 1, 1, 17)]),
        await ledger.post(TENANT, "expiry", [], start + timedelta(minutes=6), reserves=[(alice, -1, 0, 17)]),
    ]
    await reporting.wait_applied(*(p.seq for p in posted))

    rows = await reporting.entries(TENANT, [ALICE_ID])

    assert [(e["kind"], e["direction"], e["quantity"], e["balance_after"], e["reservation"]) for e in rows] == [
        ("expiry", "in", 1, 17, True),
        ("hold", "out", 1, 17, True),
        ("void", "in", 4, 17, True),
        ("hold", "out", 4, 17, True),
        ("capture", "out", 3, 17, False),
        ("hold", "out", 5, 20, True),
        ("transfer", "in", 20, 20, False),
    ]


async def test_two_events_announcing_one_transaction_give_the_same_rows(
    reporting: Reporting, ledger: FakeLedger
) -> None:
    transfer = ledger.transaction(TENANT, "transfer", [("system", -4, 6), (accounts.user_code(ALICE), 4, 4)])
    first, second = ledger.event(transfer), ledger.event(transfer)
    assert first.id != second.id

    await ledger.publish(first)
    await reporting.wait_applied(transfer.seq)
    after_first = await reporting.entries(TENANT, EVERY_ACCOUNT)
    await ledger.publish(second)
    # As above: the event after the second one shows that the second has been delivered.
    later = await ledger.post(TENANT, "purchase", [("world", -1, -1), ("system", 1, 7)])
    await reporting.wait_applied(later.seq)

    after_both = await reporting.entries(TENANT, EVERY_ACCOUNT)
    assert len(after_first) == 2
    assert [e for e in after_both if e["kind"] == "transfer"] == after_first


async def test_events_delivered_in_reverse_order_give_the_same_rows_as_in_order(
    reporting: Reporting, ledger: FakeLedger
) -> None:
    start = datetime.now(UTC) - timedelta(hours=1)
    alice = accounts.user_code(ALICE)
    events = [
        ledger.event(ledger.transaction(TENANT, "purchase", [("world", -9, -9), ("system", 9, 9)], start)),
        ledger.event(ledger.transaction(TENANT, "transfer", [("system", -2, 7), (alice, 2, 2)],
                                        start + timedelta(minutes=1))),
        ledger.event(ledger.transaction(TENANT, "hold", [], start + timedelta(minutes=2),
                                        reserves=[(alice, 2, 2, 2)])),
        ledger.event(ledger.transaction(TENANT, "void", [], start + timedelta(minutes=3),
                                        reserves=[(alice, -2, 0, 2)])),
    ]

    in_order = await _rows_after_delivering(reporting, ledger, events)
    await reporting.sql("TRUNCATE log_entries, applied_transactions, inbox")
    reversed_order = await _rows_after_delivering(reporting, ledger, events[::-1])

    assert len(in_order) == 5
    assert [e["reservation"] for e in in_order] == [True, True, False, False, False]
    assert reversed_order == in_order


async def _rows_after_delivering(reporting: Reporting, ledger: FakeLedger, events: list[Event]) -> list[dict[str, Any]]:
    for event in events:  # one at a time, so the order of delivery is the order of application
        await ledger.publish(event)
        await reporting.wait_applied(event.data["seq"])
    return await reporting.entries(TENANT, EVERY_ACCOUNT)


async def test_concurrent_duplicates_are_recorded_once(reporting: Reporting, ledger: FakeLedger) -> None:
    transfer = ledger.transaction(TENANT, "transfer", [("system", -1, 0), (accounts.user_code(ALICE), 1, 1)])
    pool = reporting.client.app[DB]
    same_event = uuid.uuid4()

    applied = await asyncio.gather(
        *(usecases.record_transaction(pool, same_event, transfer) for _ in range(4)),
        *(usecases.record_transaction(pool, uuid.uuid4(), transfer) for _ in range(2)),
    )

    assert applied[:4].count(True) == 1
    rows = await reporting.sql("SELECT account_code FROM log_entries ORDER BY account_code")
    assert [r["account_code"] for r in rows] == ["system", accounts.user_code(ALICE)]


async def test_an_invalid_message_is_dead_lettered_and_the_next_event_is_still_recorded(
    reporting: Reporting, ledger: FakeLedger, exchange_name: str, infra: Infra
) -> None:
    not_json = b"this is not an event"
    bad_payload = ledger.event(ledger.transaction(TENANT, "purchase", [("world", -1, -1), ("system", 1, 1)]))
    envelope = bad_payload.model_dump(mode="json") | {"data": {"seq": "not a number"}}
    await publish_raw(infra.broker_url, exchange_name, not_json)
    await publish_raw(infra.broker_url, exchange_name, json.dumps(envelope).encode())

    good = await ledger.post(TENANT, "purchase", [("world", -3, -3), ("system", 3, 3)])
    await reporting.wait_applied(good.seq)

    assert [e["quantity"] for e in await reporting.entries(TENANT, EVERY_ACCOUNT)] == [3]
    parked = await dead_letters(infra.broker_url, f"{exchange_name}.reporting.ledger-events.dlq", expected=2)
    assert sorted(parked) == sorted([not_json, json.dumps(envelope).encode()])
