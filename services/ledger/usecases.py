"""The ledger's actions, one Postgres transaction each: the change, its postings and its outbox row
commit together or not at all."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import asyncpg

from common import events, outbox, permissions
from common.accounts import account_id, kind_of, owner_of
from common.events import Event, PurchasePaid, TransactionPosted
from common.idempotency import request_fingerprint
from common.identity import Identity
from common.inbox import first_delivery
from services.ledger import alerts, domain, store

if TYPE_CHECKING:
    from services.ledger.group_commit import GroupCommit

SOURCE = "ledger"
PURCHASE_CONSUMER = "ledger.purchases"


# A rule checked once the accounts are locked, on the facts read under those locks.
Check = Callable[[asyncpg.Connection, dict[str, domain.Account], store.PostingFacts], Awaitable[None]]


@dataclass(frozen=True)
class PostingRequest:
    tenant_id: uuid.UUID
    kind: str
    idempotency_key: str
    request_hash: str
    movements: Sequence[domain.Movement]
    actor_user_id: uuid.UUID | None = None
    reference: str | None = None
    note: str | None = None
    terms_version: str | None = None
    held_deltas: dict[str, int] = field(default_factory=dict)  # code -> change in reserved credits
    hold_id: uuid.UUID | None = None

    @property
    def codes(self) -> list[str]:
        return [m.code for m in self.movements] + list(self.held_deltas)


@dataclass(frozen=True)
class PostedTransaction:
    id: uuid.UUID
    seq: int
    replayed: bool
    balances: dict[str, tuple[int, int]]  # code -> (balance, held) right after this transaction


async def post(conn: asyncpg.Connection, request: PostingRequest, check: Check | None = None) -> PostedTransaction:
    """Apply one double-entry transaction inside the caller's database transaction, in three round
    trips: lock, read the facts, write everything.

    Idempotent: a key already used with the same request answers the first result; with a different
    request it is refused. The lookup happens after the accounts are locked, so a concurrent twin
    holding the same locks has committed by then and is found (READ COMMITTED sees it). `check` runs
    after the locks too, so the facts it reads cannot change before we commit.
    """
    accounts = await store.lock_for_posting(conn, request.tenant_id, request.codes)
    owners = [owner for code in request.codes if (owner := owner_of(code)) is not None]
    facts = await store.posting_facts(conn, request.tenant_id, request.idempotency_key, owners)
    if facts.existing is not None:
        return await _replay(conn, facts.existing, request)
    if check is not None:
        await check(conn, accounts, facts)
    prepared = prepare(request, accounts, facts)
    await store.write_postings(conn, [prepared.write], prepared.accounts_after)
    return prepared.result


@dataclass(frozen=True)
class Prepared:
    """A checked transaction, planned on the locked accounts, ready to be written."""

    write: store.PostingWrite
    accounts_after: list[domain.Account]  # as they are to be stored, alert flags included
    result: PostedTransaction


def prepare(request: PostingRequest, accounts: dict[str, domain.Account], facts: store.PostingFacts) -> Prepared:
    """Plan the movements on the locked accounts (all or nothing: a rule broken raises), and build the
    rows, the event and any low-balance alert. No I/O."""
    assert facts.seq is not None
    planned = domain.plan(accounts, request.movements, request.held_deltas)
    stored = store.NewTransaction(
        id=uuid.uuid4(), seq=facts.seq, tenant_id=request.tenant_id, kind=request.kind,
        idempotency_key=request.idempotency_key, request_hash=request.request_hash,
        actor_user_id=request.actor_user_id, reference=request.reference, note=request.note,
        terms_version=request.terms_version, hold_id=request.hold_id, created_at=facts.now,
    )
    changed, alerts_raised = alerts.after_change(
        request.tenant_id, planned.accounts_after.values(), facts.low_balance_threshold
    )
    event = _posted_event(request, stored, planned)
    write = store.PostingWrite(stored, planned.postings, json.dumps(event.data),
                               [outbox.row(e) for e in (event, *alerts_raised)])
    result = PostedTransaction(
        id=stored.id, seq=stored.seq, replayed=False,
        balances={code: (a.balance, a.held) for code, a in planned.accounts_after.items()},
    )
    return Prepared(write, changed, result)


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


def _posted_event(request: PostingRequest, stored: store.NewTransaction, planned: domain.Plan) -> Event:
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
    )
    return Event.new(
        type=events.TRANSACTION_POSTED, source=SOURCE, subject=str(request.tenant_id), data=payload
    )


async def credit_purchase(pool: asyncpg.Pool, event_id: uuid.UUID, paid: PurchasePaid) -> bool:
    """Credit a paid purchase exactly once. False when this event, or another event for the same
    purchase, was applied before."""
    async with pool.acquire() as conn, conn.transaction():
        if not await first_delivery(conn, PURCHASE_CONSUMER, event_id):
            return False
        posted = await post(
            conn,
            PostingRequest(
                tenant_id=paid.tenant_id,
                kind="purchase",
                # Keyed by the purchase, not the event: even two distinct events for one purchase
                # credit it once.
                idempotency_key=f"purchase:{paid.purchase_id}",
                request_hash=request_fingerprint(
                    {"account": paid.account_code, "quantity": paid.quantity}
                ),
                movements=domain.purchase_movements(paid.account_code, paid.quantity),
                actor_user_id=paid.buyer_user_id,
                reference=f"purchase:{paid.purchase_id}",
                note=f"Invoice {paid.invoice_number}",
            ),
        )
        return not posted.replayed


async def account_balances(
    pool: asyncpg.Pool, tenant_id: uuid.UUID, codes: Sequence[str]
) -> list[domain.Account]:
    """Balances of the named accounts; one never opened reads as empty."""
    async with pool.acquire() as conn:
        found = await store.fetch_accounts(conn, tenant_id, codes)
    return [
        found.get(code)
        or domain.Account(
            id=account_id(tenant_id, code),
            tenant_id=tenant_id,
            code=code,
            kind=kind_of(code),
            balance=0,
            held=0,
        )
        for code in codes
    ]


@dataclass(frozen=True)
class TransferOrder:
    from_code: str
    to_code: str
    quantity: int
    accept_terms: bool
    note: str | None
    terms_version: str | None


async def transfer(
    pool: asyncpg.Pool, identity: Identity, order: TransferOrder, idempotency_key: str, maximum: int,
    group: GroupCommit | None = None,
) -> PostedTransaction:
    """Move credits between two user-facing accounts of the caller's tenant, checking every rule here
    (not only in the gateway) on the locked accounts."""
    tenant_id = identity.require_tenant()
    domain.check_quantity(order.quantity, maximum)  # before building movements from it
    actor = permissions.Actor(identity.user_id or _NOBODY, identity.role, identity.team, identity.manage_credits)

    async def check(_: asyncpg.Connection, __: dict[str, domain.Account], facts: store.PostingFacts) -> None:
        source = _holder(facts, order.from_code)
        target = _holder(facts, order.to_code)
        mode = facts.credit_mode or identity.credit_mode or "individual"
        domain.check_transfer(actor, source, target, order.quantity, order.accept_terms, mode, maximum)

    request = PostingRequest(
        tenant_id=tenant_id,
        kind="transfer",
        idempotency_key=idempotency_key,
        request_hash=request_fingerprint(asdict(order)),
        movements=domain.transfer_movements(order.from_code, order.to_code, order.quantity),
        actor_user_id=identity.user_id,
        note=order.note,
        terms_version=order.terms_version,
    )
    if group is not None:
        return await group.post(request, check)
    return await in_own_transaction(pool, request, check)


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


_NOBODY = uuid.UUID(int=0)


def _holder(facts: store.PostingFacts, code: str) -> domain.Holder:
    owner_id = owner_of(code)
    if owner_id is None:
        return domain.Holder(code, None, can_receive=True)
    user = facts.users.get(owner_id)
    if user is None:
        raise domain.AccountNotFound("No such account.")
    return domain.Holder(code, permissions.Owner(owner_id, user.team), user.can_receive)


async def balance_as_of(pool: asyncpg.Pool, tenant_id: uuid.UUID, code: str, moment: datetime) -> int:
    async with pool.acquire() as conn:
        return await store.balance_as_of(conn, account_id(tenant_id, code), moment)
