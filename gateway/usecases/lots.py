"""An account's credits by lot, and the operators' promotional grants."""

from __future__ import annotations

import uuid

import asyncpg

from common.contracts.ledger import GrantOrder, LotView
from common.identity import Identity
from gateway.clients.ledger import LedgerClient
from gateway.directory import domain
from gateway.schemas.credits import AccountView, GrantAnswer, GrantRequest, OwnerView
from gateway.usecases.accounts import account_name, accounts_named
from gateway.usecases.directory import require_operator, tenant_for_operator
from gateway.usecases.identity import identity_for
from gateway.web.auth import Caller


async def account_lots(
    pool: asyncpg.Pool, ledger: LedgerClient, caller: Caller, tenant: domain.Tenant, wanted: uuid.UUID
) -> list[LotView]:
    """The lots of an account the caller manages, in the order they will be spent."""
    [account] = await accounts_named(pool, tenant, wanted)
    if not domain.may_manage(caller.person, account):
        raise domain.AccountForbidden("You may not see this account.")
    return await ledger.lots(identity_for(caller), account.code)


async def grant(
    pool: asyncpg.Pool, ledger: LedgerClient, caller: Caller, tenant_id: uuid.UUID, body: GrantRequest, key: str
) -> GrantAnswer:
    """Promotional credits into one of a tenant's accounts (operators only): never paid, so never refunded
    or invoiced, and spent before paid credits."""
    require_operator(caller, "Only platform operators grant promotional credits.")
    tenant = await tenant_for_operator(pool, tenant_id)
    [account] = await accounts_named(pool, tenant, body.account_id)
    order = GrantOrder(account_code=account.code, quantity=body.quantity, expires_at=body.expires_at,
                       reason=body.reason)
    granted = await ledger.grant(identity_for(caller), tenant_id, order, key)
    # The operator belongs to no tenant: the balance is read as the operator acting in this one.
    [balance] = await ledger.balances(Identity(role="operator", tenant_id=tenant_id), [account.code])
    view = AccountView(
        id=account.id, kind=account.kind, name=account_name(account),
        owner=OwnerView(id=account.owner.id, name=account.owner.name, email=account.owner.email)
        if account.owner else None,
        balance=balance.balance, held=balance.held, available=balance.available,
        expiring_within_30_days=balance.expiring_within_30_days,
    )
    return GrantAnswer(id=granted.id, transaction_id=granted.transaction_id, lot_id=granted.lot_id, account=view,
                       quantity=granted.quantity, expires_at=granted.expires_at, reason=granted.reason)
