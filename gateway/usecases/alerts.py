"""An account's balance alert levels: read and set by whoever may manage the account (as its balance and
log are), kept and evaluated by the ledger."""

from __future__ import annotations

import uuid

import asyncpg

from common.contracts.ledger import AlertLevels, AlertView
from gateway.clients.ledger import LedgerClient
from gateway.directory import domain
from gateway.directory.domain import AccountRef
from gateway.usecases.accounts import accounts_named
from gateway.usecases.identity import identity_for
from gateway.web.auth import Caller


async def _managed(pool: asyncpg.Pool, caller: Caller, tenant: domain.Tenant, wanted: uuid.UUID) -> AccountRef:
    [account] = await accounts_named(pool, tenant, wanted)
    if not domain.may_manage(caller.person, account):
        raise domain.AccountForbidden("You may not manage this account's alerts.")
    return account


async def alert_levels(
    pool: asyncpg.Pool, ledger: LedgerClient, caller: Caller, tenant: domain.Tenant, wanted: uuid.UUID
) -> list[AlertView]:
    account = await _managed(pool, caller, tenant, wanted)
    return await ledger.alert_levels(identity_for(caller), account.code)


async def set_alert_levels(
    pool: asyncpg.Pool, ledger: LedgerClient, caller: Caller, tenant: domain.Tenant, wanted: uuid.UUID,
    levels: AlertLevels,
) -> list[AlertView]:
    account = await _managed(pool, caller, tenant, wanted)
    return await ledger.set_alert_levels(identity_for(caller), account.code, levels)
