"""Two replicas of the ledger consuming `ledger.purchases` at once (competing consumers on one quorum queue,
one database), receiving `billing.purchase.paid`: some events twice (a relay re-publishing), some purchases in
two different events (billing announcing one again), the copies of a pair made to arrive at the same moment.
Each purchase must be credited exactly once, the balances must be the sum of the purchases, and the ledger's
invariants must hold.

What makes that true (docs/consumers.md): the inbox row per event commits with the posting (a copy of the same
event waits on the inbox's key, then finds it), and the posting's idempotency key is the purchase, not the event
(a second event for the purchase waits on the same account locks, then finds the purchase's transaction and
replays it). The second test runs the same stream through a copy of the use case keyed by the event instead,
and shows the checks catch it: a consumer that was right only because one process saw events one at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import asyncpg
import pytest

from common.accounts import user_code
from common.contracts import queues
from common.contracts.events import Event, PurchasePaid
from common.idempotency import request_fingerprint
from common.inbox import first_delivery
from services.ledger.app import create_app
from services.ledger.invariants import usecases as invariants
from services.ledger.lots.rules import LotRules, NewLot
from services.ledger.postings.domain import PostingRequest
from services.ledger.postings.usecases import post
from services.ledger.purchases import domain, usecases
from services.ledger.settings import LedgerSettings
from tests.conftest import StartService
from tests.integration.ledger.conftest import LedgerHarness, purchase_paid
from tests.support import eventually

PURCHASES = 60
REDELIVERED = 15  # the same event published twice
REANNOUNCED = 15  # a second event of its own for the same purchase
# How long the first copy of a pair waits for the second before going on alone.
RENDEZVOUS_SECONDS = 1.0

CreditPurchase = Callable[[asyncpg.Pool, uuid.UUID, PurchasePaid], Awaitable[bool]]


@dataclass
class Spy:
    """What each replica's consumer did with each delivery."""

    replica_of: dict[int, str] = field(default_factory=dict)  # id(pool) -> replica name
    # (replica, purchase, event, whether this delivery credited it)
    handled: list[tuple[str, uuid.UUID, uuid.UUID, bool]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    paired: set[uuid.UUID] = field(default_factory=set)  # purchases delivered twice
    arrivals: Counter[uuid.UUID] = field(default_factory=Counter)
    gates: dict[uuid.UUID, asyncio.Event] = field(default_factory=lambda: defaultdict(asyncio.Event))

    def around(self, credit: CreditPurchase) -> CreditPurchase:
        async def spied(pool: asyncpg.Pool, event_id: uuid.UUID, paid: PurchasePaid) -> bool:
            await self._rendezvous(paid.purchase_id)
            replica = self.replica_of.get(id(pool), "unknown")
            try:
                applied = await credit(pool, event_id, paid)
            except Exception as exc:
                self.failures.append(f"{replica}: {exc!r}")
                raise
            self.handled.append((replica, paid.purchase_id, event_id, applied))
            return applied

        return spied

    async def _rendezvous(self, purchase_id: uuid.UUID) -> None:
        """Both copies of a pair go into the use case together: the race two replicas make possible."""
        if purchase_id not in self.paired:
            return
        self.arrivals[purchase_id] += 1
        gate = self.gates[purchase_id]
        if self.arrivals[purchase_id] >= 2:
            gate.set()
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(gate.wait(), RENDEZVOUS_SECONDS)


@dataclass(frozen=True)
class Stream:
    tenants: list[uuid.UUID]
    purchases: dict[uuid.UUID, PurchasePaid]
    messages: list[Event]
    redelivered: set[uuid.UUID]  # purchase ids
    reannounced: set[uuid.UUID]

    def expected_balances(self, tenant: uuid.UUID) -> dict[str, int]:
        found: Counter[str] = Counter()
        for paid in self.purchases.values():
            if paid.tenant_id == tenant:
                found[paid.account_code] += paid.quantity
        return dict(found)


def _stream() -> Stream:
    """Purchases of two tenants into three accounts each, each of a quantity of its own (so a purchase
    credited twice changes a balance), shuffled; every second copy right behind its first."""
    rng = random.Random(20261207)
    tenants = [uuid.uuid4(), uuid.uuid4()]
    codes = {t: ["system", user_code(uuid.uuid4()), user_code(uuid.uuid4())] for t in tenants}
    events = []
    for n in range(PURCHASES):
        tenant = tenants[n % 2]
        events.append(purchase_paid(tenant, codes[tenant][n % 3], 100 + n))
    rng.shuffle(events)
    paid = {e.payload(PurchasePaid).purchase_id: e for e in events}
    chosen = rng.sample(sorted(paid), REDELIVERED + REANNOUNCED)
    redelivered, reannounced = set(chosen[:REDELIVERED]), set(chosen[REDELIVERED:])
    messages: list[Event] = []
    for purchase_id, event in paid.items():
        messages.append(event)
        if purchase_id in redelivered:
            messages.append(event)
        elif purchase_id in reannounced:
            # Billing announcing the same paid purchase again: the same payload, a new event id.
            messages.append(Event.new(type=event.type, source="billing", subject=event.subject,
                                      data=event.payload(PurchasePaid)))
    return Stream(tenants, {k: e.payload(PurchasePaid) for k, e in paid.items()}, messages,
                  redelivered, reannounced)


async def _two_ledgers_consume(
    start_service: StartService, monkeypatch: pytest.MonkeyPatch, credit: CreditPurchase
) -> tuple[LedgerHarness, Stream, Spy]:
    first = await start_service("ledger", create_app, LedgerSettings)
    second = await start_service("ledger", create_app, LedgerSettings, database_url=first.dsn)
    stream = _stream()
    spy = Spy(replica_of={id(first.pool): "first", id(second.pool): "second"},
              paired=stream.redelivered | stream.reannounced)
    # The consumer calls the use case through its module, so both replicas' handlers go through the spy.
    monkeypatch.setattr(usecases, "credit_purchase", spy.around(credit))
    ledger = LedgerHarness(first.client, first.broker, first.dsn)
    for start in range(0, len(stream.messages), 15):
        await asyncio.gather(*(ledger.publish(m) for m in stream.messages[start : start + 15]))

    async def all_handled() -> bool:  # every delivery handled and settled, the copies included
        return len(spy.handled) >= len(stream.messages)

    await eventually(all_handled, timeout=10, every=0.02)
    await asyncio.sleep(0.2)  # room for a copy handled once too often to show
    return ledger, stream, spy


async def _problems(ledger: LedgerHarness, stream: Stream, spy: Spy) -> list[str]:
    """Everything that is not as one consumer crediting each purchase once would leave it."""
    found = []
    credited = Counter(purchase for _, purchase, _, applied in spy.handled if applied)
    found += [f"purchase {p} credited {credited[p]} times" for p in stream.purchases if credited[p] != 1]
    for tenant in stream.tenants:
        wanted = stream.expected_balances(tenant)
        balances = await ledger.balances(tenant, *wanted)
        if balances != wanted:
            found.append(f"tenant {tenant}: balances {balances}, wanted {wanted}")
    rows = await ledger.pool.fetch(
        "SELECT idempotency_key, count(*) AS n FROM transactions WHERE kind = 'purchase' GROUP BY 1")
    per_key = {r["idempotency_key"]: r["n"] for r in rows}
    if per_key != {f"purchase:{p}": 1 for p in stream.purchases}:
        found.append(f"purchase transactions by key: {sorted(per_key.values())}")
    # Each tenant's event stream stays gapless and announces each credit once, although two processes posted
    # into it at once (the stream's row is locked with the accounts).
    for tenant in stream.tenants:
        stats = await ledger.pool.fetchrow(
            "SELECT count(*) AS n, coalesce(max(sequence), 0) AS last FROM event_log WHERE tenant_id = $1", tenant)
        assert stats is not None
        if (stats["n"], stats["last"]) != (PURCHASES // 2, PURCHASES // 2):
            found.append(f"tenant {tenant}: {stats['n']} events numbered up to {stats['last']}")
    async with ledger.pool.acquire() as conn:
        found += [f"invariant {r.name}: {r.violations}" for r in await invariants.check(conn) if not r.held]
    return found


async def test_two_replicas_credit_each_purchase_exactly_once(
    start_service: StartService, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger, stream, spy = await _two_ledgers_consume(start_service, monkeypatch, usecases.credit_purchase)

    assert await _problems(ledger, stream, spy) == []
    # Both replicas consumed, and copies of one purchase were taken by both of them.
    per_replica = Counter(replica for replica, *_ in spy.handled)
    assert set(per_replica) == {"first", "second"}, per_replica
    takers = defaultdict(set)
    for replica, purchase, _, _ in spy.handled:
        takers[purchase].add(replica)
    assert any(len(takers[p]) == 2 for p in stream.redelivered), "no redelivered event reached both replicas"
    assert any(len(takers[p]) == 2 for p in stream.reannounced), "no re-announced purchase reached both replicas"
    # Each waited on the other's locks rather than failing (no deadlock, no unique violation to retry).
    assert spy.failures == []
    # One inbox row per distinct event: the re-announcement is recorded (and did nothing), the copy is not.
    inbox = await ledger.pool.fetchval(
        "SELECT count(*) FROM inbox WHERE consumer = $1", queues.LEDGER_PURCHASES.name)
    assert inbox == PURCHASES + REANNOUNCED


async def _credit_keyed_by_event(pool: asyncpg.Pool, event_id: uuid.UUID, paid: PurchasePaid) -> bool:
    """A copy of usecases.credit_purchase with one change: the posting's idempotency key is the event, not
    the purchase. One consumer that never meets two events for one purchase at once would look right."""
    async with pool.acquire() as conn, conn.transaction():
        if not await first_delivery(conn, queues.LEDGER_PURCHASES.name, event_id):
            return False
        posted = await post(conn, PostingRequest(
            tenant_id=paid.tenant_id, kind="purchase", idempotency_key=f"purchase-event:{event_id}",
            request_hash=request_fingerprint({"account": paid.account_code, "quantity": paid.quantity}),
            movements=domain.purchase_movements(paid.account_code, paid.quantity),
            actor_user_id=paid.buyer_user_id, reference=f"purchase:{paid.purchase_id}",
            note=f"Invoice {paid.invoice_number}",
            lots=LotRules(new_lot=NewLot("purchase", True, paid.credits_expire_at, f"purchase:{paid.purchase_id}")),
        ))
        return not posted.replayed


async def test_the_checks_catch_a_consumer_that_keys_the_credit_by_the_event(
    start_service: StartService, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger, stream, spy = await _two_ledgers_consume(start_service, monkeypatch, _credit_keyed_by_event)

    problems = await _problems(ledger, stream, spy)
    # Every re-announced purchase is credited twice; the copies of one event are still caught by the inbox,
    # and the double-entry invariants hold (a purchase credited twice is balanced): only the checks per
    # purchase and the balances see it.
    doubled = {f"purchase {p} credited 2 times" for p in stream.reannounced}
    assert doubled <= set(problems), problems
    assert not any(f"purchase {p} " in problem for p in stream.redelivered for problem in problems), problems
    assert any(problem.startswith("tenant ") and "balances" in problem for problem in problems), problems
    assert not any(problem.startswith("invariant ") for problem in problems), problems
