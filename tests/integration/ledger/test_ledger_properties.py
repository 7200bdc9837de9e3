"""Random histories against the real ledger use cases and a real Postgres, checked after every step
against the ledger's own invariants and a model small enough to be obviously right.

Why a plain (sync) test with its own event loop: Hypothesis drives a state machine synchronously, one
rule at a time, and a rule cannot await. pytest-asyncio's loop is not running during a sync test, so
the test makes one loop of its own, opens the pool on it once, and each rule runs its coroutine to
completion on that loop. One pool for every example (a new tenant per example keeps them apart) keeps
a step at a few milliseconds; `asyncio.run` per step would reconnect every time.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import asyncpg
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)

from common.accounts import SYSTEM, account_id, user_code
from common.bus import PoisonEvent
from common.contracts.events import CreditModeChanged, MessageUndelivered, PurchasePaid, TenantChanged, UserChanged
from common.contracts.ledger import GrantOrder
from common.db import create_pool, migrate
from common.identity import Identity
from common.problems import DomainError
from services.ledger.app import MIGRATIONS
from services.ledger.directory import usecases as directory
from services.ledger.holds import usecases as holds
from services.ledger.invariants import usecases as invariants
from services.ledger.limits import usecases as limits
from services.ledger.lots import usecases as lots
from services.ledger.lots.clock import CLOCK
from services.ledger.postings.domain import PostedTransaction
from services.ledger.postings.group_commit import GroupCommit
from services.ledger.purchases import usecases as purchases
from services.ledger.spending import usecases as spending
from services.ledger.spending.domain import NotSettledYet
from services.ledger.transfers import usecases as transfers
from tests.conftest import Infra

MAX = 1_000_000
# Bounded for the everyday run; raise them for a longer hunt (LEDGER_PROPERTY_EXAMPLES=500 ...).
EXAMPLES = int(os.environ.get("LEDGER_PROPERTY_EXAMPLES", "20"))
STEPS = int(os.environ.get("LEDGER_PROPERTY_STEPS", "25"))
T = TypeVar("T")


@dataclass
class ModelHold:
    code: str
    quantity: int
    status: str = "open"
    captured: int = 0
    given_back: dict[int, int] = field(default_factory=dict)  # recipient part -> credits it gave back
    sender: uuid.UUID | None = None  # a person's own hold (for their message) counts toward their limit
    month: str = ""  # the calendar month it was placed in (the tenant's zone: UTC here)

    @property
    def counts(self) -> int:
        """What it uses of its sender's month: all of it while open, what was captured once settled."""
        return self.quantity if self.status == "open" else self.captured


@dataclass(frozen=True)
class HeldLot:
    """One lot of one account as the database holds it, read before and after a step."""

    lot_id: uuid.UUID
    paid: bool
    expires_at: datetime | None
    granted_at: datetime
    remaining: int
    reserved: int

    @property
    def free(self) -> int:
        return self.remaining - self.reserved

    def lapsed(self) -> bool:
        return self.expires_at is not None and self.expires_at <= CLOCK.now()

    @property
    def order(self) -> tuple[bool, datetime, datetime, str]:
        """The documented spending order: promotional, soonest to expire (none last), oldest, lot id."""
        return self.paid, self.expires_at or datetime.max.replace(tzinfo=UTC), self.granted_at, str(self.lot_id)


def expected_taking(before: list[HeldLot], quantity: int) -> dict[uuid.UUID, int]:
    """What spending `quantity` must take from each lot: free credits of unlapsed lots, in spending order."""
    taking: dict[uuid.UUID, int] = {}
    for lot in sorted(before, key=lambda held: held.order):
        if quantity and lot.free and not lot.lapsed():
            taking[lot.lot_id] = min(lot.free, quantity)
            quantity -= taking[lot.lot_id]
    return taking


@dataclass
class Figures:
    examples: int = 0
    steps: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)


def _machine(loop: asyncio.AbstractEventLoop, pool: asyncpg.Pool, figures: Figures) -> type[RuleBasedStateMachine]:
    def run(coro: Coroutine[Any, Any, T]) -> T:
        return loop.run_until_complete(coro)

    def outcome(action: str, coro: Coroutine[Any, Any, T]) -> tuple[T | None, str | None]:
        """The use case's answer, or the problem type it was refused with."""
        try:
            answer = run(coro)
        except DomainError as error:
            figures.outcomes[f"{action}: {error.slug}"] += 1
            return None, error.slug
        figures.outcomes[f"{action}: done"] += 1
        return answer, None

    class LedgerMachine(RuleBasedStateMachine):
        placed = Bundle("holds")

        def __init__(self) -> None:
            super().__init__()
            figures.examples += 1
            self.tenant = uuid.uuid4()
            self.version = 1
            self.mode = "individual"
            self.master = uuid.uuid4()
            self.users = [uuid.uuid4() for _ in range(3)]
            self.codes = [SYSTEM, *(user_code(u) for u in self.users)]
            self.balance = dict.fromkeys(self.codes, 0)
            self.held = dict.fromkeys(self.codes, 0)
            self.opened: set[str] = set()
            self.holds: dict[uuid.UUID, ModelHold] = {}
            self.funded = self.granted = 0
            self.last_switch: tuple[uuid.UUID, CreditModeChanged] | None = None
            self.steps = self.switched_at = 0
            self.last_transfer: tuple[transfers.TransferOrder, str, uuid.UUID] | None = None
            self.last_hold: tuple[str, int, str, uuid.UUID] | None = None
            self.expired = 0
            self.limit: dict[uuid.UUID, int | None] = {}
            CLOCK.offset = timedelta(0)
            run(directory.tenant_changed(pool, uuid.uuid4(), TenantChanged(
                tenant_id=self.tenant, name="T", credit_mode="individual", timezone="UTC",
                low_balance_threshold=50, version=1)))
            for user, role in [(self.master, "master"), *((u, "user") for u in self.users)]:
                run(directory.user_changed(pool, uuid.uuid4(), UserChanged(
                    tenant_id=self.tenant, user_id=user, name="U", role=role, team="A",  # type: ignore[arg-type]
                    active=True, send_sms=True, manage_credits=False, version=1)))

        def available(self, code: str) -> int:
            return self.balance[code] - self.held[code]

        def teardown(self) -> None:
            CLOCK.offset = timedelta(0)

        def month(self) -> str:
            return f"{CLOCK.now():%Y-%m}"

        def used_this_month(self, user: uuid.UUID) -> int:
            return sum(h.counts for h in self.holds.values() if h.sender == user and h.month == self.month())

        def lots(self) -> dict[str, list[HeldLot]]:
            """Every account's lots as the database holds them now."""
            rows = run(pool.fetch(
                """SELECT a.code, l.id, l.paid, l.expires_at, l.granted_at, h.remaining, h.reserved
                   FROM lot_holdings h JOIN lots l ON l.id = h.lot_id JOIN accounts a ON a.id = h.account_id
                   WHERE a.tenant_id = $1""", self.tenant))
            found: dict[str, list[HeldLot]] = {code: [] for code in self.codes}
            for r in rows:
                found[r["code"]].append(HeldLot(r["id"], r["paid"], r["expires_at"], r["granted_at"], r["remaining"],
                                                r["reserved"]))
            return found

        def spendable(self, lots: dict[str, list[HeldLot]], code: str) -> int:
            """Expired credits are never spendable: only free credits of lots that have not lapsed."""
            return sum(lot.free for lot in lots[code] if not lot.lapsed())

        def check_taken_in_order(self, before: list[HeldLot], after: list[HeldLot], quantity: int) -> None:
            """The credits a transfer or a hold took came from the lots the spending order names, no others."""
            left = {lot.lot_id: lot.free for lot in after}
            taken = {lot.lot_id: lot.free - left.get(lot.lot_id, 0) for lot in before}
            assert {k: v for k, v in taken.items() if v} == expected_taking(before, quantity)

        # --- purchases and transfers --------------------------------------------------------------

        @initialize(amounts=st.lists(st.integers(0, 400), min_size=4, max_size=4))
        def opening_purchases(self, amounts: list[int]) -> None:
            for who, quantity in enumerate(amounts):
                if quantity:
                    self.fund(who, quantity)

        @rule(who=st.integers(0, 3), quantity=st.integers(1, 200), days=st.none() | st.integers(1, 60))
        def fund(self, who: int, quantity: int, days: int | None = None) -> None:
            # In shared mode only System Credits are bought.
            code = self.codes[who] if self.mode == "individual" else SYSTEM
            expires_at = CLOCK.now() + timedelta(days=days) if days else None
            paid = PurchasePaid(purchase_id=uuid.uuid4(), tenant_id=self.tenant,
                                account_id=account_id(self.tenant, code), account_code=code, quantity=quantity,
                                buyer_user_id=self.master, invoice_number="INV-1", total_cents=1,
                                currency="AUD", paid_at=datetime.now(UTC), credits_expire_at=expires_at)
            assert run(purchases.credit_purchase(pool, uuid.uuid4(), paid))
            self.balance[code] += quantity
            self.funded += quantity
            self.opened.add(code)

        @rule(source=st.integers(0, 3), recipient=st.integers(0, 3), quantity=st.integers(1, 300))
        def transfer(self, source: int, recipient: int, quantity: int) -> None:
            from_code, to_code = self.codes[source], self.codes[recipient]
            order = transfers.TransferOrder(from_code, to_code, quantity, True, None, "2026-11")
            key = str(uuid.uuid4())
            before = self.lots()
            posted, refused = outcome("transfer", transfers.transfer(pool, self.identity(), order, key, MAX))
            if from_code == to_code:
                expected = "same-account"
            elif self.mode == "shared":
                expected = "shared-mode"
            elif quantity > self.spendable(before, from_code):
                expected = "insufficient-credits"
            else:
                expected = None
            assert refused == expected, (refused, expected)
            if posted is not None:
                self.check_taken_in_order(before[from_code], self.lots()[from_code], quantity)
                self.balance[from_code] -= quantity
                self.balance[to_code] += quantity
                self.opened |= {from_code, to_code}
                self.last_transfer = (order, key, posted.id)

        @rule(burst=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(1, 150)),
                             min_size=2, max_size=8))
        def transfers_at_once(self, burst: list[tuple[int, int, int]]) -> None:
            """Several transfers at the same moment, through group commit: whatever order the group
            applied them in, each accepted one moved its credits once and each refusal had a reason."""
            orders = [transfers.TransferOrder(self.codes[s], self.codes[r], q, True, None, "2026-11")
                      for s, r, q in burst]

            async def all_at_once() -> list[Any]:
                group = GroupCommit(pool, max_group=64, writers=2)
                group.start()
                try:
                    return await asyncio.gather(
                        *(transfers.transfer(pool, self.identity(), order, str(uuid.uuid4()), MAX, group)
                          for order in orders),
                        return_exceptions=True,
                    )
                finally:
                    await group.stop()

            for order, answer in zip(orders, run(all_at_once()), strict=True):
                if isinstance(answer, DomainError):
                    figures.outcomes[f"transfer at once: {answer.slug}"] += 1
                    if order.from_code == order.to_code:
                        assert answer.slug == "same-account"
                    elif self.mode == "shared":
                        assert answer.slug == "shared-mode"
                    else:  # which of two competing transfers gets the credits depends on the order
                        assert answer.slug == "insufficient-credits", answer
                    continue
                assert isinstance(answer, PostedTransaction), answer
                figures.outcomes["transfer at once: done"] += 1
                assert order.from_code != order.to_code and self.mode == "individual"
                self.balance[order.from_code] -= order.quantity
                self.balance[order.to_code] += order.quantity
                self.opened |= {order.from_code, order.to_code}
            assert all(self.available(code) >= 0 for code in self.codes)

        @rule()
        def replay_the_last_transfer(self) -> None:
            if self.last_transfer is None:
                return
            order, key, first = self.last_transfer
            posted = run(transfers.transfer(pool, self.identity(), order, key, MAX))
            assert posted.replayed and posted.id == first

        def identity(self) -> Identity:
            return Identity(role="master", tenant_id=self.tenant, user_id=self.master, team="A", send_sms=True)

        # --- holds --------------------------------------------------------------------------------

        @rule(target=placed, who=st.integers(0, 3), quantity=st.integers(1, 150))
        def place_hold(self, who: int, quantity: int) -> Any:
            code = self.codes[who]
            key = str(uuid.uuid4())
            before = self.lots()
            view, refused = outcome("hold", holds.place(pool, Identity(role="service"), account_id(self.tenant, code),
                                                quantity, None, 3600, key, MAX))
            if code not in self.opened:
                expected = "account-not-found"
            elif code != SYSTEM and self.mode == "shared":
                expected = "shared-mode"
            elif quantity > self.spendable(before, code):
                expected = "insufficient-credits"
            else:
                expected = None
            assert refused == expected, (refused, expected)
            if view is None:
                return multiple()
            self.check_taken_in_order(before[code], self.lots()[code], quantity)
            self.held[code] += quantity
            self.holds[view.id] = ModelHold(code, quantity)
            self.last_hold = (code, quantity, key, view.id)
            return view.id

        @rule()
        def replay_the_last_hold(self) -> None:
            if self.last_hold is None:
                return
            code, quantity, key, first = self.last_hold
            view = run(holds.place(pool, Identity(role="service"), account_id(self.tenant, code), quantity, None,
                                   3600, key, MAX))
            assert view.id == first

        @rule(hold_id=placed, part=st.none() | st.integers(0, 160))
        def capture(self, hold_id: uuid.UUID, part: int | None) -> None:
            hold = self.holds[hold_id]
            view, refused = outcome("capture", holds.capture(pool, Identity(role="service"), hold_id, part))
            if hold.status in ("voided", "expired"):
                assert refused == "hold-resolved"
            elif hold.status == "captured":
                assert refused is None  # a repeat: harmless, whatever it asks
            elif part is not None and part > hold.quantity:
                assert refused == "quantity-out-of-range"
            else:
                assert refused is None, refused
                taken = hold.quantity if part is None else part
                self.balance[hold.code] -= taken
                self.held[hold.code] -= hold.quantity
                hold.status, hold.captured = "captured", taken
            if view is not None:
                assert (view.status, view.captured) == (hold.status, hold.captured)

        @rule(hold_id=placed)
        def void(self, hold_id: uuid.UUID) -> None:
            hold = self.holds[hold_id]
            _, refused = outcome("void", holds.void(pool, Identity(role="service"), hold_id))
            if hold.status == "captured":
                assert refused == "hold-resolved"
                return
            assert refused is None, refused
            if hold.status == "open":
                self.held[hold.code] -= hold.quantity
                hold.status = "voided"

        @rule(hold_id=placed)
        def expire(self, hold_id: uuid.UUID) -> None:
            hold = self.holds[hold_id]
            run(pool.execute("UPDATE holds SET expires_at = now() - interval '1 second' WHERE id = $1", hold_id))
            expired = run(holds.expire_due(pool))
            figures.outcomes[f"expire: {expired}"] += 1
            assert expired == (1 if hold.status == "open" else 0)
            if hold.status == "open":
                self.held[hold.code] -= hold.quantity
                hold.status = "expired"

        # --- lots: grants, time passing, expiry ----------------------------------------------------

        @rule(who=st.integers(0, 3), quantity=st.integers(1, 100), days=st.none() | st.integers(1, 60))
        def grant(self, who: int, quantity: int, days: int | None) -> None:
            """An operator's promotional credits: a lot of their own, spent before any paid credit."""
            code = self.codes[who] if self.mode == "individual" else SYSTEM
            order = GrantOrder(account_code=code, quantity=quantity, reason="Promotion",
                               expires_at=CLOCK.now() + timedelta(days=days) if days else None)
            granted = run(lots.grant(pool, Identity(role="operator"), self.tenant, order, str(uuid.uuid4()), MAX))
            assert granted.balance_after == self.balance[code] + quantity
            self.balance[code] += quantity
            self.granted += quantity
            self.opened.add(code)

        @rule(days=st.integers(1, 40), sweep=st.booleans())
        def time_passes(self, days: int, sweep: bool) -> None:
            """Days go by (lots lapse, months turn); the sweeper may come at once, or later (lapsed credits
            wait, unspendable)."""
            CLOCK.offset += timedelta(days=days)
            if sweep:
                self.sweep_expired_lots()

        @rule()
        def sweep_expired_lots(self) -> None:
            """Each lapsed lot's free credits expire, once: a second sweep finds nothing left to expire."""
            before = self.lots()
            due = {code: sum(lot.free for lot in held if lot.lapsed()) for code, held in before.items()}
            run(lots.expire_lapsed(pool, batch=1000))
            run(lots.expire_lapsed(pool, batch=1000))
            after = self.lots()
            for code, credits in due.items():
                self.balance[code] -= credits
                self.expired += credits
                assert not any(lot.lapsed() and lot.free for lot in after[code])
            figures.outcomes["sweep: expired credits" if any(due.values()) else "sweep: nothing lapsed"] += 1

        # --- spending limits ------------------------------------------------------------------------

        @rule(who=st.integers(0, 2), limit=st.none() | st.integers(1, 80))
        def a_master_sets_a_monthly_limit(self, who: int, limit: int | None) -> None:
            user = self.users[who]
            master = Identity(role="master", tenant_id=self.tenant, user_id=self.master, team="A", send_sms=True)
            view = run(limits.set_limit(pool, master, user, limit))
            assert (view.monthly_credit_limit, view.used_this_month) == (limit, self.used_this_month(user))
            self.limit[user] = limit
            figures.outcomes["limit set" if limit else "limit removed"] += 1

        @rule(target=placed, who=st.integers(0, 2), quantity=st.integers(1, 120))
        def a_person_sends(self, who: int, quantity: int) -> Any:
            """A person's own hold for their message: refused beyond their month's limit (what is left is
            checked on the locked account), then like any hold."""
            user = self.users[who]
            code = user_code(user) if self.mode == "individual" else SYSTEM
            person = Identity(role="user", tenant_id=self.tenant, user_id=user, team="A", send_sms=True,
                              credit_mode="individual" if self.mode == "individual" else "shared")
            before = self.lots()
            view, refused = outcome("person's hold", holds.place(
                pool, person, account_id(self.tenant, code), quantity, None, 3600, str(uuid.uuid4()), MAX))
            limit = self.limit.get(user)
            if code not in self.opened:
                expected = "insufficient-credits"  # their own account, never used: nothing to spend
            elif limit is not None and self.used_this_month(user) + quantity > limit:
                expected = "monthly-limit-reached"
            elif quantity > self.spendable(before, code):
                expected = "insufficient-credits"
            else:
                expected = None
            assert refused == expected, (refused, expected, limit, self.used_this_month(user))
            if view is None:
                return multiple()
            self.held[code] += quantity
            self.holds[view.id] = ModelHold(code, quantity, sender=user, month=self.month())
            return view.id

        # --- delivery receipts: undelivered recipients' credits back ---------------------------------

        @rule(hold_id=placed, part=st.integers(0, 2), credits=st.integers(1, 10), redeliver=st.booleans())
        def a_recipient_was_not_delivered(self, hold_id: uuid.UUID, part: int, credits: int, redeliver: bool) -> None:
            """Messaging announces a recipient its message did not reach: the credits come back once (a
            repeated announcement, or the broker's redelivery, changes nothing), only from a capture, never
            more than it took; one that overtakes its capture waits for it."""
            hold = self.holds[hold_id]
            credits = hold.given_back.get(part, credits)  # a repeat announces what the first did
            undelivered = MessageUndelivered(
                message_id=hold_id, tenant_id=self.tenant, hold_id=hold_id, part_id=uuid.uuid5(hold_id, str(part)),
                account_code=hold.code, recipient="+61*******99", status="undeliverable", credits=credits)
            event_id = uuid.uuid4()
            try:
                applied = run(spending.give_back_undelivered(pool, event_id, undelivered))
            except NotSettledYet:
                assert hold.status == "open"
                figures.outcomes["give back: before its capture"] += 1
                return
            except PoisonEvent:
                assert part not in hold.given_back and sum(hold.given_back.values()) + credits > hold.captured
                figures.outcomes["give back: more than captured"] += 1
                return
            fresh = hold.status == "captured" and part not in hold.given_back
            assert applied is fresh, (applied, hold)
            figures.outcomes[f"give back: {'done' if fresh else 'nothing to do'}"] += 1
            if fresh:
                hold.given_back[part] = credits
                # A user's credits come back to them, unless the tenant has switched to shared mode since
                # (then to System Credits, where they can still be spent; these users are always active).
                target = SYSTEM if self.mode == "shared" else hold.code
                self.balance[target] += credits
                self.opened.add(target)
            if redeliver:  # the same event again: its inbox row says it was applied
                assert not run(spending.give_back_undelivered(pool, event_id, undelivered))

        @rule(target=placed, who=st.integers(0, 3), quantity=st.integers(2, 60), failed=st.integers(1, 3))
        def a_message_is_captured_and_some_recipients_fail(self, who: int, quantity: int, failed: int) -> Any:
            """The whole path in one step: a message's hold, its capture, then `failed` recipients (of one
            credit each) that did not arrive: each gives its credit back, once."""
            hold_id = self.place_hold(who, quantity)
            if not isinstance(hold_id, uuid.UUID):
                return multiple()
            self.capture(hold_id, None)
            for part in range(min(failed, quantity)):
                self.a_recipient_was_not_delivered(hold_id, part, 1, redeliver=part == 0)
            return hold_id

        # --- credit mode --------------------------------------------------------------------------

        # A switch is an operator's rare action: at most one every few steps, so histories have room to
        # fill the accounts in between.
        @precondition(lambda self: self.steps - self.switched_at >= 5)
        @rule()
        def switch_mode(self) -> None:
            self.switched_at = self.steps
            mode = "shared" if self.mode == "individual" else "individual"
            self.version += 1
            change = CreditModeChanged(tenant_id=self.tenant, mode=mode, previous_mode=self.mode,  # type: ignore[arg-type]
                                       user_ids=self.users, actor_user_id=None, version=self.version)
            self.last_switch = (uuid.uuid4(), change)
            run(directory.credit_mode_changed(pool, *self.last_switch))
            figures.outcomes[f"switch to {mode}"] += 1
            self.mode = mode
            if mode == "shared":
                swept = {code: self.available(code) for code in self.codes[1:] if self.available(code) > 0}
                for code, credits in swept.items():
                    self.balance[code] -= credits
                    self.balance[SYSTEM] += credits
                if swept:
                    self.opened.add(SYSTEM)

        @rule()
        def redeliver_the_last_switch(self) -> None:
            if self.last_switch is not None:
                run(directory.credit_mode_changed(pool, *self.last_switch))

        @rule(mode=st.sampled_from(["shared", "individual"]))
        def deliver_a_switch_overtaken_by_a_newer_one(self, mode: str) -> None:
            """An event older than the tenant's current version, arriving late: it changes nothing."""
            change = CreditModeChanged(tenant_id=self.tenant, mode=mode, previous_mode=self.mode,  # type: ignore[arg-type]
                                       user_ids=self.users, actor_user_id=None, version=self.version - 1)
            run(directory.credit_mode_changed(pool, uuid.uuid4(), change))

        # --- after every step ---------------------------------------------------------------------

        @invariant()
        def every_invariant_holds_and_the_ledger_agrees_with_the_model(self) -> None:
            figures.steps += 1
            self.steps += 1
            run(self.compare())

        async def compare(self) -> None:
            async with pool.acquire() as conn:
                breached = [r for r in await invariants.check(conn) if not r.held]
                assert not breached, breached
                rows = await conn.fetch("SELECT code, balance, held FROM accounts WHERE tenant_id = $1", self.tenant)
                statuses = await conn.fetch("SELECT id, status, captured FROM holds WHERE tenant_id = $1", self.tenant)
                transactions = await conn.fetchval("SELECT count(*) FROM transactions WHERE tenant_id = $1",
                                                   self.tenant)
                posted = await conn.fetchval(
                    """SELECT count(*) FROM outbox WHERE routing_key = 'ledger.transaction.posted'
                       AND envelope -> 'data' ->> 'tenant_id' = $1""", str(self.tenant))
                journaled = await conn.fetchval("SELECT count(*) FROM journal WHERE tenant_id = $1", self.tenant)
            accounts = {r["code"]: (r["balance"], r["held"]) for r in rows}
            spent = sum(h.captured - sum(h.given_back.values()) for h in self.holds.values())
            expected = {code: (self.balance[code], self.held[code]) for code in self.opened}
            if self.funded:
                expected["world"] = (-self.funded, 0)
            if self.granted:
                expected["promotions"] = (-self.granted, 0)
            if self.expired or "expired" in accounts:
                expected["expired"] = (self.expired, 0)
            if spent or "spent" in accounts:
                expected["spent"] = (spent, 0)
            assert accounts == expected
            assert {r["id"]: (r["status"], r["captured"]) for r in statuses} == {
                i: (h.status, h.captured) for i, h in self.holds.items()
            }
            assert posted == journaled == transactions  # every transaction told and kept, and only those

    return LedgerMachine


async def _open(infra: Infra) -> tuple[str, asyncpg.Pool]:
    name = f"t_{infra.run_id}_ledgerprops_{uuid.uuid4().hex[:6]}"
    conn = await asyncpg.connect(infra.database_url("postgres"))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    dsn = infra.database_url(name)
    await migrate(dsn, MIGRATIONS)
    return name, await create_pool(dsn, 4)


async def _close(infra: Infra, name: str, pool: asyncpg.Pool) -> None:
    await pool.close()
    conn = await asyncpg.connect(infra.database_url("postgres"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def test_random_histories_keep_every_invariant_and_match_the_model(infra: Infra) -> None:
    loop = asyncio.new_event_loop()
    figures = Figures()
    started = time.monotonic()
    try:
        name, pool = loop.run_until_complete(_open(infra))
        try:
            run_state_machine_as_test(
                _machine(loop, pool, figures),
                settings=settings(max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None,
                                  suppress_health_check=[HealthCheck.too_slow]),
            )
        finally:
            loop.run_until_complete(_close(infra, name, pool))
    finally:
        loop.close()
    print(f"\nledger state machine: {figures.examples} examples, {figures.steps} checked steps, "
          f"{time.monotonic() - started:.1f} s")
    print("  " + ", ".join(f"{name} {count}" for name, count in sorted(figures.outcomes.items())))
