"""Two replicas of reporting consuming `reporting.ledger-events` at once (competing consumers on one quorum
queue, one database): the broker hands each event to one of them, in no order across them, and hands some
twice. The 30-day log must end exactly as one consumer applying every event once would leave it.

What makes that true (docs/consumers.md): a row's id is uuid5(transaction, account) and the table has one row
per (transaction, account), the inbox row per event commits with the rows, `applied_transactions` is keyed by
the ledger's seq, every insert takes its keys in one order (no deadlock between the replicas), and nothing is
stored as "the account's latest": the latest balance is read by (occurred_at, ledger_seq), not by who wrote last.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from common import accounts
from common.contracts import queues
from common.contracts.events import Event, TransactionPosted
from common.runtime import DB
from services.reporting.app import create_app
from services.reporting.entries import domain, store, usecases
from services.reporting.entries.usecases import ArrivedTransaction
from services.reporting.maintenance import usecases as maintenance
from services.reporting.maintenance.ledger_client import LedgerClient
from services.reporting.settings import ReportingSettings
from tests.conftest import StartService
from tests.integration.reporting.reporting_support import WAIT_SECONDS, FakeLedger, Reporting
from tests.support import eventually

TENANT = uuid.uuid4()
CODES = ("system", accounts.user_code(uuid.uuid4()), accounts.user_code(uuid.uuid4()))
TRANSACTIONS = 300
REDELIVERED = 30  # published twice, the same event (a relay re-publishing after a crash)
REANNOUNCED = 10  # announced again in a second event of their own (a different event id, the same transaction)
# Small batches, so that the two replicas apply many of them side by side.
BATCH_SIZE = 25


@dataclass
class Spy:
    """Which replica applied what: every batch each consumer handed to the use case, by the replica's pool."""

    replica_of: dict[int, str] = field(default_factory=dict)  # id(pool) -> replica name
    seen: dict[str, list[uuid.UUID]] = field(default_factory=lambda: defaultdict(list))  # event ids per replica
    # What each batch applied (its duplicates left out), in the order the batches committed across both
    # replicas: what a "last writer wins" store would have kept.
    committed: list[list[ArrivedTransaction]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def events_seen(self) -> int:
        return sum(len(ids) for ids in self.seen.values())


def _journal(ledger: FakeLedger) -> list[TransactionPosted]:
    """Transfers among three accounts, each posting with the balance the account has after it, and times
    that follow the seqs (the ledger takes both under the accounts' locks)."""
    balances = dict.fromkeys(CODES, 50_000)
    start = datetime.now(UTC) - timedelta(hours=1)
    journal = []
    for n in range(TRANSACTIONS):
        source, target = CODES[n % 3], CODES[(n + 1 + n // 3) % 3]
        if source == target:
            target = CODES[(n + 2) % 3]
        amount = n % 7 + 1
        balances[source] -= amount
        balances[target] += amount
        moves = [(source, -amount, balances[source]), (target, amount, balances[target])]
        journal.append(ledger.transaction(TENANT, "transfer", moves, occurred_at=start + timedelta(milliseconds=n)))
    return journal


def _publication(ledger: FakeLedger, journal: list[TransactionPosted]) -> tuple[list[Event], set[uuid.UUID]]:
    """Every message to publish, in the order to publish them; and the ids of the events published twice.

    Out of order on purpose: shuffled, and the newest transaction of each account first of all, so that the
    row a "last writer wins" log would keep for an account is not its newest (checked below, not assumed)."""
    rng = random.Random(20261207)
    events = [ledger.event(posted) for posted in journal]
    newest = {e.id for e in events[-3:]}  # with three accounts rotating, the last three name each one
    rest = [e for e in events if e.id not in newest]
    rng.shuffle(rest)
    ordered = [e for e in events if e.id in newest] + rest
    twice = {e.id for e in rng.sample(events, REDELIVERED)}
    again = [ledger.event(TransactionPosted.model_validate(e.data)) for e in rng.sample(events, REANNOUNCED)]
    messages: list[Event] = []
    for event in ordered:
        # The copy right behind its original: the broker hands consecutive messages to alternate consumers,
        # so most pairs are taken by the two replicas at the same moment.
        messages += [event, event] if event.id in twice else [event]
    return messages + again, twice


class JournalLedger(LedgerClient):
    """The ledger's balances as `reconcile` reads them, answered from the journal published."""

    def __init__(self, fake: FakeLedger) -> None:
        self._fake = fake

    async def balances(self, tenant_id: uuid.UUID, codes: Sequence[str]) -> dict[str, int]:
        known = self._fake.balances(tenant_id)
        return {code: known[code] for code in codes if code in known}


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Spy:
    spied = Spy()
    record = usecases.record_transactions

    async def recorded(pool: Any, batch: Sequence[ArrivedTransaction]) -> list[ArrivedTransaction]:
        replica = spied.replica_of.get(id(pool), "unknown")
        try:
            applied = await record(pool, batch)
        except Exception as exc:
            spied.failures.append(f"{replica}: {exc!r}")
            raise
        spied.seen[replica] += [a.event_id for a in batch]
        spied.committed.append(applied)
        return applied

    monkeypatch.setattr(usecases, "record_transactions", recorded)
    return spied


async def test_two_replicas_leave_the_log_exactly_as_one_consumer_would(start_service: StartService, spy: Spy) -> None:
    settings: dict[str, Any] = {"consistency_wait_seconds": WAIT_SECONDS, "db_pool_size": 4,
                                "consumer_batch_size": BATCH_SIZE, "consumer_batch_window_seconds": 0.002}
    first = await start_service("reporting", create_app, ReportingSettings, **settings)
    second = await start_service("reporting", create_app, ReportingSettings, database_url=first.dsn, **settings)
    spy.replica_of.update({id(first.app[DB]): "first", id(second.app[DB]): "second"})
    ledger = FakeLedger(first.broker)
    journal = _journal(ledger)
    messages, twice = _publication(ledger, journal)

    for start in range(0, len(messages), 20):  # fast, and still nearly in the order chosen
        await asyncio.gather(*(ledger.publish(m) for m in messages[start : start + 20]))
    reporting = Reporting(second.client, first.dsn)
    await reporting.wait_applied(*(p.seq for p in journal))

    async def all_taken() -> bool:  # every copy taken and settled, the duplicates included
        return spy.events_seen() >= len(messages)

    await eventually(all_taken, timeout=10, every=0.02)

    # Both replicas took part, and the same event reached both of them at least once.
    per_replica = {name: len(ids) for name, ids in spy.seen.items()}
    assert set(per_replica) == {"first", "second"} and min(per_replica.values()) > 0, per_replica
    split = {i for i in twice if i in spy.seen["first"] and i in spy.seen["second"]}
    assert split, "no redelivered event reached both replicas: the race under test did not happen"
    # No batch failed: each replica inserts its keys in one order (inbox, rows, accounts, seqs: each sorted),
    # so two overlapping batches wait for each other, never deadlock (a deadlock would show here, even
    # though the retry one by one would still have put the log right).
    assert spy.failures == []

    # The log holds exactly the rows one consumer applying each transaction once would have written.
    expected = {dataclasses.astuple(e) for posted in journal for e in domain.log_entries_of(posted)}
    rows = await reporting.sql(f"SELECT {store.COLUMNS} FROM log_entries")  # noqa: S608 (a constant)
    assert len(rows) == len(expected) == 2 * TRANSACTIONS
    assert {tuple(r) for r in rows} == expected
    [counts] = await reporting.sql(
        """SELECT (SELECT count(*) FROM applied_transactions) AS applied,
                  (SELECT count(*) FROM inbox WHERE consumer = $1) AS inbox,
                  (SELECT count(*) FROM log_accounts) AS accounts""",
        queues.REPORTING_LEDGER_EVENTS.name,
    )
    # One inbox row per distinct event (a re-announcement is an event of its own), one seq per transaction.
    assert (counts["applied"], counts["inbox"], counts["accounts"]) == (
        TRANSACTIONS, TRANSACTIONS + REANNOUNCED, len(CODES)
    )

    await _latest_is_the_newest_not_the_last_written(reporting, ledger, journal, spy)


async def _latest_is_the_newest_not_the_last_written(
    reporting: Reporting, ledger: FakeLedger, journal: list[TransactionPosted], spy: Spy
) -> None:
    final = ledger.balances(TENANT)
    # A copy of the logic a naive read model would have, "the account's balance is the last one written":
    # on this run it is wrong for some account, so the arrival order really differed from the ledger's.
    last_written: dict[str, int] = {}
    for batch in spy.committed:
        for arrived in batch:
            last_written.update({e.account_code: e.balance_after for e in arrived.entries})
    assert last_written != final, "the events arrived in the ledger's order: nothing out of order was tested"

    # Reporting's own answer, the one `python -m services.reporting reconcile` compares with the ledger's.
    pool = await asyncpg.create_pool(reporting.database_url, min_size=1, max_size=2)
    try:
        result = await maintenance.reconcile(pool, JournalLedger(ledger))
    finally:
        await pool.close()
    assert (result.accounts_compared, result.differences) == (len(CODES), [])
    # And what a person reads: each account's log newest first, in the ledger's order, the first row its balance.
    for code in CODES:
        entries = await reporting.entries(TENANT, [accounts.account_id(TENANT, code)])
        wanted = [p.balance_after for posted in reversed(journal) for p in posted.postings if p.account_code == code]
        assert [e["balance_after"] for e in entries] == wanted
        assert entries[0]["balance_after"] == final[code]
