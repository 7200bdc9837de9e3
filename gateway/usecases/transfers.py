"""A transfer of credits between two accounts of the caller's tenant: the gateway decides who may move
what; the ledger checks the transfer's own rules (quantity, terms, mode, recipient, balance) on the
locked accounts. Transfers read back (one, or a page) are those touching an account the caller manages
(a master: every one of the tenant), named for people."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg

from common.accounts import account_id, user_code
from common.contracts import problems
from common.contracts.ledger import TransferOrder, TransferRecord, TransfersQuery
from common.problems import NotFound
from gateway.callers.owners import OwnerCache
from gateway.clients.ledger import LedgerClient
from gateway.directory import domain, store, terms
from gateway.schemas.credits import TransferAnswer, TransferRequest
from gateway.schemas.history import HistoryQuery, TransferPage, TransferView
from gateway.usecases.accounts import account_name, accounts_named, named
from gateway.usecases.identity import identity_for
from gateway.web.auth import Caller

# What a name reads when the directory no longer knows the account or the person.
_UNKNOWN_ACCOUNT, _FORMER_USER = "Unknown account", "Former user"


class TransferNotFound(NotFound):
    problem = problems.TRANSFER_NOT_FOUND


async def transfer(
    pool: asyncpg.Pool, ledger: LedgerClient, caller: Caller, request: TransferRequest, idempotency_key: str,
    owners: OwnerCache | None = None,
) -> TransferAnswer:
    """`owners`: the process's memory of whose accounts are whose (a master's day is many transfers between
    the same few accounts)."""
    tenant = caller.require_tenant()
    source, target = await accounts_named(pool, tenant, request.from_account, request.to_account, owners=owners)
    domain.authorise_transfer(caller.person, source, target)
    order = TransferOrder(from_code=source.code, to_code=target.code, quantity=request.quantity,
                          accept_terms=request.accept_terms, note=request.note, terms_version=terms.VERSION)
    posted = await ledger.transfer(identity_for(caller), order, idempotency_key)
    return TransferAnswer.model_validate({
        "id": posted.id,
        "from": {"id": account_id(tenant.id, source.code), "balance": posted.source.balance},
        "to": {"id": account_id(tenant.id, target.code), "balance": posted.target.balance},
        "consistency_token": posted.consistency_token,
    })


async def read_transfer(
    pool: asyncpg.Pool, ledger: LedgerClient, caller: Caller, transfer_id: uuid.UUID
) -> TransferView:
    """A transfer touching an account the caller manages; any other (another tenant's, or one between
    accounts the caller does not manage) is answered as if it did not exist."""
    record = await ledger.transfer_record(identity_for(caller), transfer_id)
    tenant = caller.require_tenant()
    sides = await named(pool, tenant, [account_id(tenant.id, record.from_code), account_id(tenant.id, record.to_code)])
    if not caller.person.is_master and not any(domain.may_manage(caller.person, side) for side in sides.values()):
        raise TransferNotFound("There is no such transfer.")
    [view] = await _named_views(pool, caller, [record])
    return view


async def read_transfers(pool: asyncpg.Pool, ledger: LedgerClient, caller: Caller, query: HistoryQuery) -> TransferPage:
    """A page of the transfers the caller may see, newest first; empty for one who manages no account."""
    codes = await _visible_codes(pool, caller, query.account)
    if codes is None:
        return TransferPage(items=[], next_cursor=None)
    wanted = TransfersQuery(account=codes, since=query.since, until=query.until, cursor=query.cursor,
                            limit=query.limit)
    page = await ledger.transfers(identity_for(caller), wanted)
    return TransferPage(items=await _named_views(pool, caller, page.items), next_cursor=page.next_cursor)


async def _visible_codes(pool: asyncpg.Pool, caller: Caller, wanted: list[uuid.UUID] | None) -> list[str] | None:
    """The accounts whose transfers to list, by code: those named (each one the caller manages, else it
    is answered as if it did not exist), or [] for every transfer of the tenant (a master; a user who
    manages credits, as every transfer touches a user account), or the caller's own; None for nothing
    at all (a user of a tenant in shared mode, who manages no account)."""
    tenant, person = caller.require_tenant(), caller.person
    if wanted:
        found = await named(pool, tenant, wanted)
        missing = [w for w in wanted if w not in found or not domain.may_manage(person, found[w])]
        if missing:
            raise domain.AccountNotFound(f"No such account: {missing[0]}.")
        return [found[w].code for w in dict.fromkeys(wanted)]
    if person.is_master:
        return []
    if tenant.credit_mode == "shared":
        return None
    return [] if person.manage_credits else [user_code(person.id)]


async def _named_views(pool: asyncpg.Pool, caller: Caller, records: Sequence[TransferRecord]) -> list[TransferView]:
    """The records with people's names on their accounts and actors: one directory read per page."""
    tenant = caller.require_tenant()
    ids = {code: account_id(tenant.id, code) for r in records for code in (r.from_code, r.to_code)}
    accounts = await named(pool, tenant, list(set(ids.values())))
    actors = list({r.actor_user_id for r in records if r.actor_user_id is not None})
    async with pool.acquire() as conn:
        people = {p.id: p.name for p, _ in await store.people_named(conn, tenant.id, actors, [])} if actors else {}

    def side(code: str) -> dict[str, object]:
        found = accounts.get(ids[code])
        return {"id": ids[code], "name": account_name(found) if found else _UNKNOWN_ACCOUNT}

    return [
        TransferView.model_validate({
            "id": r.id, "from": side(r.from_code), "to": side(r.to_code), "quantity": r.quantity, "note": r.note,
            "actor": {"id": r.actor_user_id, "name": people.get(r.actor_user_id, _FORMER_USER)}
            if r.actor_user_id else None,
            "created_at": r.created_at, "terms_version": r.terms_version,
        })
        for r in records
    ]
