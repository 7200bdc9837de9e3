"""A transfer, posted in one transaction of its own or together with others (group commit); and transfers
read back, one or a page."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass

import asyncpg

from common import keyset, permissions
from common.accounts import account_id, owner_of
from common.contracts.ledger import TransfersQuery
from common.idempotency import request_fingerprint
from common.identity import Identity
from services.ledger.postings import store as postings_store
from services.ledger.postings.domain import Account, AccountNotFound, PostedTransaction, PostingRequest, check_quantity
from services.ledger.postings.group_commit import GroupCommit
from services.ledger.postings.usecases import in_own_transaction
from services.ledger.transfers import domain, store


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
    check_quantity(order.quantity, maximum)  # before building movements from it
    actor = permissions.Actor(identity.user_id or _NOBODY, identity.role, identity.team, identity.manage_credits)

    async def check(_: asyncpg.Connection, __: dict[str, Account], facts: postings_store.PostingFacts) -> None:
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


_NOBODY = uuid.UUID(int=0)


def _holder(facts: postings_store.PostingFacts, code: str) -> domain.Holder:
    owner_id = owner_of(code)
    if owner_id is None:
        return domain.Holder(code, None, can_receive=True)
    user = facts.users.get(owner_id)
    if user is None:
        raise AccountNotFound("No such account.")
    return domain.Holder(code, permissions.Owner(owner_id, user.team), user.can_receive)


@dataclass(frozen=True)
class TransferRows:
    """A page of transfers as the journal holds them, and the cursor of the next page (None: the last)."""

    rows: list[asyncpg.Record]
    next_cursor: str | None


async def read_transfer(pool: asyncpg.Pool, tenant_id: uuid.UUID, transfer_id: uuid.UUID) -> asyncpg.Record:
    """One transfer of the tenant; another tenant's, or any other kind of transaction, is not found."""
    async with pool.acquire() as conn:
        found = await store.transfer(conn, tenant_id, transfer_id)
    if found is None:
        raise domain.TransferNotFound("There is no such transfer.")
    return found


async def read_transfers(pool: asyncpg.Pool, tenant_id: uuid.UUID, query: TransfersQuery) -> TransferRows:
    """A page of the tenant's transfers, newest first (see TransfersQuery for the filters)."""
    before = keyset.decode_cursor(query.cursor)
    accounts = [account_id(tenant_id, code) for code in dict.fromkeys(query.account)]
    since = query.since or keyset.BEGINNING_OF_TIME
    until = query.until or keyset.END_OF_TIME
    async with pool.acquire() as conn:
        rows = await store.transfers_page(conn, tenant_id, accounts, since, until, before, query.limit + 1)
    page = rows[: query.limit]
    last = keyset.Cursor(page[-1]["created_at"], page[-1]["id"]) if page else None
    return TransferRows(page, keyset.next_cursor(len(rows), query.limit, last))
