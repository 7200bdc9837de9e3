"""The ledger's actions, one Postgres transaction each: the change, its postings and its outbox row
commit together or not at all."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from common import events, outbox
from common.accounts import account_id, kind_of
from common.events import Event, PurchasePaid, TransactionPosted
from common.idempotency import request_fingerprint
from common.inbox import first_delivery
from services.ledger import domain, store

SOURCE = "ledger"
PURCHASE_CONSUMER = "ledger.purchases"


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


@dataclass(frozen=True)
class PostedTransaction:
    id: uuid.UUID
    seq: int
    replayed: bool
    balances: dict[str, tuple[int, int]]  # code -> (balance, held) right after this transaction


async def post(conn: asyncpg.Connection, request: PostingRequest) -> PostedTransaction:
    """Apply one double-entry transaction inside the caller's database transaction.

    Idempotent: a key already used with the same request answers the first result; with a different
    request it is refused. The lookup happens after the accounts are locked, so a concurrent twin
    holding the same locks has committed by then and is found (READ COMMITTED sees it).
    """
    codes = [m.code for m in request.movements]
    await store.open_accounts(conn, request.tenant_id, codes)
    accounts = await store.lock_accounts(conn, request.tenant_id, codes)
    existing = await store.find_transaction(conn, request.tenant_id, request.idempotency_key)
    if existing is not None:
        return await _replay(conn, existing, request)
    postings = domain.plan_postings(accounts, request.movements)
    stored = await store.insert_transaction(
        conn,
        tenant_id=request.tenant_id,
        kind=request.kind,
        idempotency_key=request.idempotency_key,
        request_hash=request.request_hash,
        actor_user_id=request.actor_user_id,
        reference=request.reference,
        note=request.note,
        terms_version=request.terms_version,
    )
    await store.insert_postings(conn, stored.id, postings)
    await store.update_balances(conn, postings)
    await outbox.enqueue(conn, _posted_event(request, stored, postings))
    return PostedTransaction(
        id=stored.id,
        seq=stored.seq,
        replayed=False,
        balances={p.code: (p.balance_after, p.held_after) for p in postings},
    )


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
    request: PostingRequest, stored: store.StoredTransaction, postings: Sequence[domain.PlannedPosting]
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
        postings=[
            events.Posting(
                account_id=p.account_id,
                account_code=p.code,
                amount=p.amount,
                balance_after=p.balance_after,
                held_after=p.held_after,
            )
            for p in postings
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
