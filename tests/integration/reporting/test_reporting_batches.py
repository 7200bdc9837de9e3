"""Ledger events applied in batches: a backlog already in the queue when reporting starts arrives as a
few large batches, and each event must still be applied exactly once, to the right accounts, with a
poison event parked alone and a batch cut short by a crash applied once after the restart."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import aio_pika
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from common import accounts
from common.batches import BatchIntake
from common.bus import Broker
from common.contracts import queues
from common.contracts.events import Event, TransactionPosted
from common.inbox import first_deliveries
from services.reporting.app import create_app
from services.reporting.entries import usecases
from services.reporting.entries.usecases import ArrivedTransaction
from services.reporting.settings import ReportingSettings
from tests.conftest import Infra, NewDatabase
from tests.harness import INTERNAL_SECRET as SECRET
from tests.integration.reporting.reporting_support import WAIT_SECONDS, FakeLedger, Reporting, dead_letters, publish_raw

TENANT = uuid.uuid4()
PEOPLE = [accounts.user_code(uuid.uuid4()) for _ in range(5)]
# Long enough that everything published before the start is in the first batch or two.
WINDOW_SECONDS = 0.3


@dataclass
class Stage:
    """A database and an exchange with the topology declared, and reporting not started yet."""

    database_url: str
    exchange: str
    infra: Infra
    ledger: FakeLedger
    batches: list[list[uuid.UUID]] = field(default_factory=list)  # event ids of each batch applied
    batch_done: asyncio.Event = field(default_factory=asyncio.Event)

    @contextlib.asynccontextmanager
    async def reporting(self) -> AsyncIterator[Reporting]:
        settings = ReportingSettings(
            database_url=self.database_url,
            broker_url=self.infra.broker_url,
            exchange=self.exchange,
            internal_token_secret=SECRET,
            consistency_wait_seconds=WAIT_SECONDS,
            db_pool_size=4,
            consumer_batch_window_seconds=WINDOW_SECONDS,
        )
        client: TestClient[web.Request, web.Application] = TestClient(TestServer(create_app(settings)))
        await client.start_server()
        try:
            yield Reporting(client, self.database_url)
        finally:
            await client.close()

    def transfers(self, count: int) -> list[Event]:
        """`count` transfers between the tenant's people, each with its own amounts and balances."""
        events = []
        for n in range(count):
            source, target = PEOPLE[n % len(PEOPLE)], PEOPLE[(n + 1) % len(PEOPLE)]
            moves = [(source, -(n + 1), 10_000 - n), (target, n + 1, 20_000 + n)]
            events.append(self.ledger.event(self.ledger.transaction(TENANT, "transfer", moves)))
        return events

    async def publish(self, events: Sequence[Event]) -> None:
        for event in events:
            await self.ledger.publish(event)

    async def batched(self, events: int) -> None:
        """Until batches holding `events` events in all have been applied (or have failed)."""
        async with asyncio.timeout(10):
            while sum(len(batch) for batch in self.batches) < events:
                await self.batch_done.wait()
                self.batch_done.clear()


@pytest.fixture
async def stage(
    new_database: NewDatabase, exchange_name: str, infra: Infra, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Stage]:
    broker = Broker(infra.broker_url, exchange_name)
    await broker.connect()  # declares reporting's queue, so what is published now waits in it
    try:
        stage = Stage(await new_database("reporting"), exchange_name, infra, FakeLedger(broker))
        record = usecases.record_transactions

        async def recorded(pool: Any, batch: Sequence[ArrivedTransaction]) -> list[ArrivedTransaction]:
            try:
                return await record(pool, batch)
            finally:
                stage.batches.append([a.event_id for a in batch])
                stage.batch_done.set()

        monkeypatch.setattr(usecases, "record_transactions", recorded)
        yield stage
    finally:
        await broker.close()


def _expected_rows(events: Sequence[Event]) -> set[tuple[str, str, str, int, int]]:
    """(transaction, account code, direction, quantity, balance after) of every posting published."""
    rows = set()
    for event in events:
        for posting in event.data["postings"]:
            direction = "in" if posting["amount"] > 0 else "out"
            rows.add((event.data["transaction_id"], posting["account_code"], direction, abs(posting["amount"]),
                      posting["balance_after"]))
    return rows


async def _log_rows(reporting: Reporting) -> list[tuple[str, str, str, int, int]]:
    records = await reporting.sql(
        "SELECT transaction_id, account_code, direction, quantity, balance_after, account_id FROM log_entries"
    )
    for r in records:  # each row on the account its code names, in the right tenant
        assert r["account_id"] == accounts.account_id(TENANT, r["account_code"])
    return [(str(r["transaction_id"]), r["account_code"], r["direction"], r["quantity"], r["balance_after"])
            for r in records]


async def _applied_counts(reporting: Reporting) -> tuple[int, int]:
    [row] = await reporting.sql(
        """SELECT (SELECT count(*) FROM applied_transactions) AS applied,
                  (SELECT count(*) FROM inbox WHERE consumer = 'reporting.ledger-events') AS inbox"""
    )
    return row["applied"], row["inbox"]


async def test_a_backlog_applied_in_batches_puts_every_posting_in_the_log_once_on_its_own_account(
    stage: Stage,
) -> None:
    events = stage.transfers(120)
    # The relay publishing one event again after a crash, and the ledger announcing one transaction in a
    # second event: both in the same backlog (so most likely in the same batch) as the originals.
    redelivered = events[7]
    reannounced = stage.ledger.event(TransactionPosted.model_validate(events[30].data))
    await stage.publish([*events, redelivered, reannounced])

    async with stage.reporting() as reporting:
        await reporting.wait_applied(*(e.data["seq"] for e in events))
        await stage.batched(len(events) + 2)

        rows = await _log_rows(reporting)
        assert len(rows) == len(set(rows)) == 2 * len(events)
        assert set(rows) == _expected_rows(events)
        # The re-announcement is a new event (its own inbox row) that adds no row and no applied seq.
        assert await _applied_counts(reporting) == (len(events), len(events) + 1)
    assert max(len(batch) for batch in stage.batches) > 1, stage.batches


async def test_poison_events_in_a_batch_are_parked_alone_and_their_neighbours_are_applied_once(stage: Stage) -> None:
    good = stage.transfers(40)
    # Refused by the log's columns only when the batch is written: a balance beyond bigint.
    too_big = stage.ledger.event(stage.ledger.transaction(
        TENANT, "transfer", [(PEOPLE[0], -1, 2**63), (PEOPLE[1], 1, 1)]))
    # Refused before any I/O: an account code no log knows.
    unreadable = stage.ledger.event(stage.ledger.transaction(
        TENANT, "transfer", [("mystery", -1, 0), (PEOPLE[1], 1, 1)]))
    not_json = b"not an event"
    await stage.publish(good[:20])
    await stage.publish([too_big, unreadable])
    await publish_raw(stage.infra.broker_url, stage.exchange, not_json)
    await stage.publish(good[20:])

    async with stage.reporting() as reporting:
        await reporting.wait_applied(*(e.data["seq"] for e in good))
        parked = await dead_letters(stage.infra.broker_url, f"{stage.exchange}.reporting.ledger-events.dlq", 3)

        assert sorted(parked) == sorted([_body(too_big), _body(unreadable), not_json])
        rows = await _log_rows(reporting)
        assert len(rows) == 2 * len(good) and set(rows) == _expected_rows(good)
        assert await _applied_counts(reporting) == (len(good), len(good))
    # The balance beyond bigint failed a batch with neighbours in it, then failed alone.
    failed_batch = next(batch for batch in stage.batches if too_big.id in batch)
    assert len(failed_batch) > 1
    assert [too_big.id] in stage.batches
    assert unreadable.id not in {event_id for batch in stage.batches for event_id in batch}


def _body(event: Event) -> bytes:
    return json.dumps(event.model_dump(mode="json", exclude_none=True)).encode()


@pytest.mark.parametrize("committed", [False, True], ids=["before-commit", "after-commit"])
async def test_a_batch_cut_short_by_a_crash_is_applied_exactly_once_after_the_restart(
    stage: Stage, monkeypatch: pytest.MonkeyPatch, committed: bool
) -> None:
    events = stage.transfers(60)
    await stage.publish(events)
    stuck = asyncio.Event()
    spied = usecases.record_transactions

    async def crashing(pool: Any, batch: Sequence[ArrivedTransaction]) -> list[ArrivedTransaction]:
        if committed:
            await spied(pool, batch)
            stuck.set()
        else:
            async with pool.acquire() as conn, conn.transaction():
                await first_deliveries(conn, queues.REPORTING_LEDGER_EVENTS.name, [a.event_id for a in batch])
                stuck.set()
                await asyncio.Event().wait()  # the process dies here, inside the transaction
        await asyncio.Event().wait()  # ... or here, after the commit and before any ack
        raise AssertionError("unreachable")

    monkeypatch.setattr(usecases, "record_transactions", crashing)
    async with stage.reporting():
        async with asyncio.timeout(10):
            await stuck.wait()
    # The first process is gone (its connection closed): every unacknowledged event goes back.
    monkeypatch.setattr(usecases, "record_transactions", spied)
    async with stage.reporting() as reporting:
        await reporting.wait_applied(*(e.data["seq"] for e in events))
        await stage.batched(len(events))

        rows = await _log_rows(reporting)
        assert len(rows) == 2 * len(events) and set(rows) == _expected_rows(events)
        assert await _applied_counts(reporting) == (len(events), len(events))


async def test_a_database_outage_under_a_batch_sends_the_batch_back_and_each_event_is_applied_once(
    stage: Stage, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = stage.transfers(30)
    await stage.publish(events)
    spied = usecases.record_transactions
    attempts: list[int] = []  # the size of each batch that failed
    down = True  # until the consumer gives events back for a later try

    async def outage(pool: Any, batch: Sequence[ArrivedTransaction]) -> list[ArrivedTransaction]:
        if down:
            attempts.append(len(batch))
            raise ConnectionError("the database is restarting")
        return await spied(pool, batch)

    give_back = BatchIntake.give_back

    async def database_back(intake: BatchIntake, messages: Sequence[aio_pika.abc.AbstractIncomingMessage]) -> None:
        nonlocal down
        down = False
        await give_back(intake, messages)

    monkeypatch.setattr(BatchIntake, "give_back", database_back)
    monkeypatch.setattr(usecases, "record_transactions", outage)
    async with stage.reporting() as reporting:
        await reporting.wait_applied(*(e.data["seq"] for e in events))

        rows = await _log_rows(reporting)
        assert len(rows) == 2 * len(events) and set(rows) == _expected_rows(events)
        assert await _applied_counts(reporting) == (len(events), len(events))
    # Not one failing attempt per event of the batch: after the first event failed alone too, the
    # whole batch went back to the queue for a later try.
    assert len(attempts) == 2 and attempts[0] > 1 and attempts[1] == 1, attempts
