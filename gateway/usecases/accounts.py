"""The accounts a request names or may see: found in the directory (System Credits, and each person's
User Credits in individual mode), with their balances from the ledger."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from common.accounts import SYSTEM_CREDITS
from gateway.callers.owners import OwnerCache
from gateway.clients.ledger import LedgerClient
from gateway.directory import domain, store
from gateway.directory.domain import AccountRef, Person
from gateway.schemas.credits import AccountView, OwnerView
from gateway.usecases.identity import identity_for
from gateway.web.auth import Caller


async def tenant_accounts(pool: asyncpg.Pool, caller: Caller) -> list[AccountRef]:
    tenant = caller.require_tenant()
    async with pool.acquire() as conn:
        people = await store.people_of(conn, tenant.id)
    return domain.tenant_accounts(tenant, people)


async def accounts_named(pool: asyncpg.Pool, tenant: domain.Tenant, *wanted: uuid.UUID,
                         owners: OwnerCache | None = None) -> list[AccountRef]:
    """The accounts a request names, in its order; one that is not this tenant's is not found (404),
    whoever owns it. Reads only the people named, whatever the size of the tenant."""
    found = await named(pool, tenant, list(wanted), owners)
    return [domain.find_account(found.values(), w) for w in wanted]


async def account_named(pool: asyncpg.Pool, tenant: domain.Tenant, wanted: uuid.UUID) -> AccountRef | None:
    return (await named(pool, tenant, [wanted])).get(wanted)


async def named(pool: asyncpg.Pool, tenant: domain.Tenant, wanted: list[uuid.UUID],
                owners: OwnerCache | None = None) -> dict[uuid.UUID, AccountRef]:
    """Those of the wanted accounts that are this tenant's, by id. System Credits and, in shared mode, every
    account need no directory read; with `owners` (the process's memory of them), neither do the people's
    accounts it remembers."""
    candidates = domain.owned_candidates(tenant, wanted)
    known: dict[uuid.UUID, Person] = {}
    if owners is not None:
        known, candidates = owners.owners(tenant.id, candidates)
    if candidates:
        ticket = owners.ticket() if owners is not None else 0
        async with pool.acquire() as conn:
            read = await store.people_by_account(conn, tenant.id, candidates)
        if owners is not None:
            owners.remember(tenant.id, read, ticket)
        known.update(read)
    return domain.named_accounts(tenant, wanted, known)


async def tenant_by_id(pool: asyncpg.Pool, tenant_id: uuid.UUID) -> domain.Tenant | None:
    async with pool.acquire() as conn:
        return await store.tenant(conn, tenant_id)


async def account_by_id(pool: asyncpg.Pool, tenant_id: uuid.UUID, wanted: uuid.UUID) -> AccountRef:
    tenant = await tenant_by_id(pool, tenant_id)
    if tenant is None:
        raise domain.AccountNotFound("No such account.")
    [account] = await accounts_named(pool, tenant, wanted)
    return account


async def people(pool: asyncpg.Pool, caller: Caller) -> list[Person]:
    async with pool.acquire() as conn:
        return await store.people_of(conn, caller.require_tenant().id)


def account_name(account: AccountRef) -> str:
    return account.owner.name if account.owner else SYSTEM_CREDITS


async def managed_accounts(pool: asyncpg.Pool, ledger: LedgerClient, caller: Caller) -> list[AccountView]:
    """Every account the caller manages, with its balance."""
    refs = domain.managed_accounts(caller.person, await tenant_accounts(pool, caller))
    return await account_views(ledger, caller, refs)


async def managed_account(
    pool: asyncpg.Pool, ledger: LedgerClient, caller: Caller, tenant: domain.Tenant, wanted: uuid.UUID,
    as_of: datetime | None,
) -> AccountView:
    """One account the caller manages, with its balance now or at the moment `as_of`."""
    [account] = await accounts_named(pool, tenant, wanted)
    if not domain.may_manage(caller.person, account):
        raise domain.AccountForbidden("You may not see this account.")
    [view] = await account_views(ledger, caller, [account], as_of=as_of)
    return view


async def account_views(
    ledger: LedgerClient, caller: Caller, refs: list[AccountRef], as_of: datetime | None = None
) -> list[AccountView]:
    if not refs:
        return []
    balances = await ledger.balances(identity_for(caller), [ref.code for ref in refs], as_of)
    by_code = {b.code: b for b in balances}
    return [
        AccountView(
            id=ref.id,
            kind=ref.kind,
            name=account_name(ref),
            owner=OwnerView(id=ref.owner.id, name=ref.owner.name, email=ref.owner.email) if ref.owner else None,
            balance=by_code[ref.code].balance,
            held=by_code[ref.code].held,
            available=by_code[ref.code].available,
            expiring_within_30_days=by_code[ref.code].expiring_within_30_days,
        )
        for ref in refs
    ]
