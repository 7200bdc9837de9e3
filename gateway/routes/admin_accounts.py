"""What an operator reads to act on a tenant's accounts (the admin page's promotional grant form): the
tenants, and one tenant's accounts with their balances. Operators belong to no tenant, so the accounts
endpoints of a tenant's own people (`/accounts`) list nothing for them."""

from __future__ import annotations

import asyncpg
from aiohttp import web

from common.identity import Identity
from common.runtime import DB
from common.web import json_response, path_uuid
from gateway.clients.ledger import LedgerClient
from gateway.directory import domain, store
from gateway.resources import LEDGER
from gateway.routes.registry import api, caller_of, no_such
from gateway.schemas.credits import AccountView, OwnerView, TenantView
from gateway.usecases.accounts import account_name
from gateway.usecases.directory import require_operator, tenant_for_operator

_OPERATORS_ONLY = "Only platform operators see every tenant's accounts."


@api.route("GET", "/admin/tenants", "Every tenant, by name (operators only)", answer=TenantView,
           answer_is_list=True, tags=("admin",), errors=(401, 403))
async def list_tenants(request: web.Request) -> web.Response:
    require_operator(caller_of(request), _OPERATORS_ONLY)
    return json_response(await _tenants(request.app[DB]))


@api.route("GET", "/admin/tenants/{id}/accounts", "A tenant's accounts with their balances (operators only)",
           answer=AccountView, answer_is_list=True, tags=("admin",), errors=(401, 403, 404))
async def list_tenant_accounts(request: web.Request) -> web.Response:
    require_operator(caller_of(request), _OPERATORS_ONLY)
    tenant = await tenant_for_operator(request.app[DB], path_uuid(request, not_found=no_such("tenant")))
    return json_response(await _accounts(request.app[DB], request.app[LEDGER], tenant))


async def _tenants(pool: asyncpg.Pool) -> list[TenantView]:
    # One read per tenant: the page is an operator's, and tenants number in the tens, not thousands.
    async with pool.acquire() as conn:
        found = [await store.tenant(conn, tenant_id) for tenant_id in await store.tenant_ids(conn)]
    views = [TenantView(id=t.id, name=t.name, credit_mode=t.credit_mode, timezone=t.timezone,
                        refund_undelivered=t.refund_undelivered) for t in found if t]
    return sorted(views, key=lambda t: (t.name.lower(), t.id))


async def _accounts(pool: asyncpg.Pool, ledger: LedgerClient, tenant: domain.Tenant) -> list[AccountView]:
    async with pool.acquire() as conn:
        people = await store.people_of(conn, tenant.id)
    refs = domain.tenant_accounts(tenant, people)
    # The operator belongs to no tenant: balances are read as the operator acting in this one.
    balances = await ledger.balances(Identity(role="operator", tenant_id=tenant.id), [ref.code for ref in refs])
    by_code = {b.code: b for b in balances}
    return [
        AccountView(
            id=ref.id, kind=ref.kind, name=account_name(ref),
            owner=OwnerView(id=ref.owner.id, name=ref.owner.name, email=ref.owner.email) if ref.owner else None,
            balance=by_code[ref.code].balance, held=by_code[ref.code].held, available=by_code[ref.code].available,
            expiring_within_30_days=by_code[ref.code].expiring_within_30_days,
        )
        for ref in refs
    ]
