"""The posting engine: one double-entry transaction applied inside a database transaction, with its
postings, its `ledger.transaction.posted` event and any balance alert (low, recovered) committing together
or not at all. Every feature that moves credits (purchases, transfers, holds, refunds, the directory) posts here.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

import asyncpg

from common.accounts import owner_of
from common.contracts import events, headers
from common.contracts.events import BalanceLow, BalanceRecovered, Event, TransactionPosted
from services.ledger.alerts import domain as alerts_domain
from services.ledger.alerts.domain import AccountAlerts
from services.ledger.lots import domain as lots_domain
from services.ledger.lots import store as lots_store
from services.ledger.lots.clock import CLOCK
from services.ledger.postings import domain, store
from services.ledger.postings.domain import PostedTransaction, PostingRequest

SOURCE = events.source("ledger")

# A rule checked once the accounts are locked, on the facts read under those locks.
Check = Callable[[asyncpg.Connection, dict[str, domain.Account], store.PostingFacts], Awaitable[None]]


async def post(conn: asyncpg.Connection, request: PostingRequest, check: Check | None = None) -> PostedTransaction:
    """Apply one double-entry transaction inside the caller's database transaction, in three round
    trips: lock, read the facts (the lots' holdings among them), write everything (its lots among it).

    Idempotent: a key already used with the same request answers the first result; with a different
    request it is refused. The lookup happens after the accounts are locked, so a concurrent twin
    holding the same locks has committed by then and is found (READ COMMITTED sees it). `check` runs
    after the locks too, so the facts it reads cannot change before we commit.
    """
    accounts = await store.lock_for_posting(conn, request.tenant_id, request.codes)
    owners = [owner for code in request.codes if (owner := owner_of(code)) is not None]
    facing = [a.id for a in accounts.values() if a.user_facing]
    facts = await store.posting_facts(conn, request.tenant_id, request.idempotency_key, owners, facing)
    if facts.existing is not None:
        return await _replay(conn, facts.existing, request)
    if check is not None:
        await check(conn, accounts, facts)
    holdings = facts.holdings  # of the user-facing accounts, read with the facts
    prepared = prepare(request, accounts, facts, {code: holdings.get(a.id, []) for code, a in accounts.items()})
    await write(conn, [prepared])
    return prepared.result


async def write(conn: asyncpg.Connection, prepared: list[Prepared]) -> None:
    """Store prepared transactions (one, or a group in the order they were planned): one statement."""
    # An account (or a holding) several transactions of a group touched is stored once, as the last one left it.
    accounts = {a.id: a for p in prepared for a in p.accounts_after}
    holdings: dict[tuple[uuid.UUID, uuid.UUID], lots_domain.Holding | None] = {}
    for p in prepared:  # in order: what the last transaction left is what is stored
        holdings.update(p.holdings_after)
    await store.write_postings(conn, [p.write for p in prepared], list(accounts.values()), [p.lots for p in prepared],
                               holdings)


async def in_own_transaction(pool: asyncpg.Pool, request: PostingRequest, check: Check | None) -> PostedTransaction:
    """Post in a transaction of its own. Two requests with one key but different accounts do not wait on
    each other's locks, so the second meets the key's unique index: it then runs again and is answered
    as a replay (or refused as a different request)."""
    for attempt in (1, 2):
        try:
            async with pool.acquire() as conn, conn.transaction():
                return await post(conn, request, check)
        except asyncpg.UniqueViolationError as exc:
            if attempt == 2 or exc.constraint_name != "transactions_tenant_id_idempotency_key_key":
                raise
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class Prepared:
    """A checked transaction, planned on the locked accounts, ready to be written."""

    write: store.PostingWrite
    accounts_after: list[domain.Account]  # as they are to be stored, alert flags included
    result: PostedTransaction
    lots: lots_store.LotWrite
    # Every holding the transaction changed, by account and lot, as it is to be stored (None: at zero).
    holdings_after: dict[tuple[uuid.UUID, uuid.UUID], lots_domain.Holding | None]


def prepare(
    request: PostingRequest, accounts: dict[str, domain.Account], facts: store.PostingFacts,
    holdings: dict[str, list[lots_domain.Holding]],
) -> Prepared:
    """Plan the movements on the locked accounts and their lots (all or nothing: a rule broken raises),
    and build the rows, the event and any low-balance alert. No I/O."""
    assert facts.seq is not None
    planned = domain.plan(accounts, request.movements, request.held_deltas)
    lot_plan = lots_domain.plan_lots(
        {code: holdings.get(code, []) for code in accounts if lots_domain.bears_lots(code)},
        request.movements, request.held_deltas, request.lots or lots_domain.LotRules(), CLOCK.at(facts.now),
    )
    stored = store.NewTransaction(
        id=uuid.uuid4(), seq=facts.seq, tenant_id=request.tenant_id, kind=request.kind,
        idempotency_key=request.idempotency_key, request_hash=request.request_hash,
        actor_user_id=request.actor_user_id, reference=request.reference, note=request.note,
        terms_version=request.terms_version, hold_id=request.hold_id, created_at=facts.now,
    )
    ids = {code: account.id for code, account in accounts.items()}
    purchases = _purchases(lot_plan, ids)
    # A purchase's own crediting already counts as the last purchase for the levels it is evaluated on.
    alerts = {**facts.alerts, **{account: replace(facts.alerts[account], last_purchase=quantity)
                                 for account, quantity, _ in purchases if account in facts.alerts}}
    changed, alerts_raised, alerts_after = balance_alerts(
        request.tenant_id, planned.accounts_after.values(), facts.low_balance_threshold, alerts, request.request_id
    )
    event = _posted_event(request, stored, planned, lot_plan)
    # Numbered in the tenant's stream, after what the facts (read under the stream's lock) say came last.
    numbered = [e.with_sequence(facts.last_sequence + n) for n, e in enumerate((event, *alerts_raised), 1)]
    # Billing's queue takes purchases and what touches an account it tops up (common.contracts.headers).
    # Every account whose balance or reserved credits it changed (a hold changes no posting's amount).
    watched = any(a.id in facts.watched for a in planned.accounts_after.values())
    routing = {numbered[0].id: json.dumps(headers.transaction_headers(request.kind, watched))}
    write = store.PostingWrite(stored, planned.postings, json.dumps(event.data), numbered, alerts_after, purchases,
                               routing)
    result = PostedTransaction(
        id=stored.id, seq=stored.seq, replayed=False,
        balances={code: (a.balance, a.held) for code, a in planned.accounts_after.items()},
    )
    lot_write = lots_store.LotWrite(stored.id, request.tenant_id, lot_plan.new_lots,
                                    [(ids[m.code], m) for m in lot_plan.moves])
    kept = {(code, h.lot.id): h for code, held in lot_plan.holdings_after.items() for h in held}
    holdings_after = {(ids[m.code], m.lot.id): kept.get((m.code, m.lot.id)) for m in lot_plan.moves}
    return Prepared(write, changed, result, lot_write, holdings_after)


def _purchases(lot_plan: lots_domain.LotPlan, ids: Mapping[str, uuid.UUID]) -> list[tuple[uuid.UUID, int, datetime]]:
    """(account, quantity, moment) of each purchase lot this transaction started in an account."""
    started = {lot.id: quantity for lot, quantity in lot_plan.new_lots if lot.origin == "purchase"}
    return [(ids[m.code], started[m.lot.id], m.lot.granted_at) for m in lot_plan.moves
            if m.lot.id in started and m.amount > 0]


def balance_alerts(
    tenant_id: uuid.UUID, changed: Iterable[domain.Account], threshold: int,
    alerts: Mapping[uuid.UUID, AccountAlerts], request_id: str | None = None,
) -> tuple[list[domain.Account], list[Event], dict[uuid.UUID, AccountAlerts]]:
    """Every alert the change raises, account by account in the order given: an account with levels of its
    own (`alerts`, read with the account locks) by those levels, any other by the tenant's threshold as
    before. Answers the accounts as they are to be stored, the events, and the levels with their flags.

    An account with levels still tracks the tenant's threshold, silently: if its levels are removed, that
    threshold takes over from where the balance is, without an alert for a crossing long past."""
    accounts: list[domain.Account] = []
    raised: list[Event] = []
    after: dict[uuid.UUID, AccountAlerts] = {}
    for account in changed:
        own = alerts.get(account.id)
        if not account.user_facing or own is None or not own.levels:
            kept, low = low_balance_alerts(tenant_id, [account], threshold, request_id)
            accounts += kept
            raised += low
            continue
        accounts.append(replace(account, low_balance_alerted=domain.low_balance_alert(
            account.available, threshold, account.low_balance_alerted)[1]))
        after[account.id], crossings = alerts_domain.evaluate(own, account.available)
        raised += [_alert_event(tenant_id, account, crossing, request_id) for crossing in crossings]
    return accounts, raised, after


def _alert_event(
    tenant_id: uuid.UUID, account: domain.Account, crossing: alerts_domain.Crossing, request_id: str | None
) -> Event:
    level, subject = crossing.level, events.account_subject(tenant_id, account.id)
    if crossing.recovered:
        recovered = BalanceRecovered(tenant_id=tenant_id, account_id=account.id, account_code=account.code,
                                     available=account.available, threshold=crossing.threshold,
                                     alert_id=level.id, level=level.name)
        return Event.new(type=events.BALANCE_RECOVERED, source=SOURCE, request_id=request_id, subject=subject,
                         data=recovered)
    low = BalanceLow(tenant_id=tenant_id, account_id=account.id, account_code=account.code,
                     available=account.available, threshold=crossing.threshold, alert_id=level.id, level=level.name)
    return Event.new(type=events.BALANCE_LOW, source=SOURCE, request_id=request_id, subject=subject, data=low)


def low_balance_alerts(
    tenant_id: uuid.UUID, changed: Iterable[domain.Account], threshold: int, request_id: str | None = None
) -> tuple[list[domain.Account], list[Event]]:
    """For each changed user-facing account, `ledger.balance.low` once when its available balance
    crosses below the tenant's threshold, and re-armed once it is back at or above it. Answers the
    accounts with their alert flag as it is to be stored, and the alerts to publish with the change.
    No I/O: the flags were read with the account locks, and are written with the balances."""
    accounts: list[domain.Account] = []
    alerts: list[Event] = []
    for account in changed:
        if not account.user_facing or threshold <= 0:
            accounts.append(account)
            continue
        send, alerted = domain.low_balance_alert(account.available, threshold, account.low_balance_alerted)
        accounts.append(replace(account, low_balance_alerted=alerted))
        if send:
            payload = BalanceLow(tenant_id=tenant_id, account_id=account.id, account_code=account.code,
                                 available=account.available, threshold=threshold)
            alerts.append(Event.new(type=events.BALANCE_LOW, source=SOURCE, request_id=request_id,
                                    subject=events.account_subject(tenant_id, account.id), data=payload))
    return accounts, alerts


async def _replay(
    conn: asyncpg.Connection, existing: store.StoredTransaction, request: PostingRequest
) -> PostedTransaction:
    if existing.request_hash != request.request_hash:
        raise domain.IdempotencyKeyReused("This Idempotency-Key was already used for a different request.")
    rows = await store.transaction_postings(conn, existing.id)
    return PostedTransaction(
        id=existing.id,
        seq=existing.seq,
        replayed=True,
        balances={r["code"]: (r["balance_after"], r["held_after"]) for r in rows},
    )


def _posted_event(
    request: PostingRequest, stored: store.NewTransaction, planned: domain.Plan, lot_plan: lots_domain.LotPlan
) -> Event:
    payload = TransactionPosted(
        transaction_id=stored.id,
        seq=stored.seq,
        tenant_id=request.tenant_id,
        kind=request.kind,
        occurred_at=stored.created_at,
        actor_user_id=request.actor_user_id,
        reference=request.reference,
        note=request.note,
        terms_version=request.terms_version,
        postings=[
            events.Posting(
                account_id=p.account_id,
                account_code=p.code,
                amount=p.amount,
                balance_after=p.balance_after,
                held_after=p.held_after,
            )
            for p in planned.postings
        ],
        holds=[
            events.HoldChange(
                hold_id=request.hold_id,
                account_id=planned.accounts_after[code].id,
                account_code=code,
                held_delta=delta,
                held_after=planned.accounts_after[code].held,
                balance_after=planned.accounts_after[code].balance,
            )
            for code, delta in request.held_deltas.items()
            if request.hold_id is not None
        ],
        lots=[
            events.LotChange(
                lot_id=m.lot.id, account_id=planned.accounts_after[m.code].id, account_code=m.code, amount=m.amount,
                reserved_delta=m.reserved, origin=m.lot.origin, paid=m.lot.paid, expires_at=m.lot.expires_at,
            )
            for m in lot_plan.moves
        ],
    )
    return Event.new(
        type=events.TRANSACTION_POSTED, source=SOURCE, data=payload, time=stored.created_at,
        subject=events.subject_in(request.tenant_id, "transactions", stored.id), request_id=request.request_id,
    )


async def read_journal(pool: asyncpg.Pool, after_seq: int, limit: int) -> list[dict[str, object]]:
    """Every posted transaction after `after_seq`, in sequence order: what a read model is rebuilt from."""
    async with pool.acquire() as conn:
        return await store.journal_page(conn, after_seq, limit)
