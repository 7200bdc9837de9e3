"""A transfer, posted in one transaction of its own or together with others (group commit)."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass

import asyncpg

from common import permissions
from common.accounts import owner_of
from common.idempotency import request_fingerprint
from common.identity import Identity
from services.ledger.postings import store as postings_store
from services.ledger.postings.domain import Account, AccountNotFound, PostedTransaction, PostingRequest, check_quantity
from services.ledger.postings.group_commit import GroupCommit
from services.ledger.postings.usecases import in_own_transaction
from services.ledger.transfers import domain


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
