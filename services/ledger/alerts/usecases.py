"""Reading and setting an account's alert levels. Evaluating them is the posting engine's part
(services/ledger/postings/usecases.py): they are checked in the transaction that changes the balance."""

from __future__ import annotations

import uuid

import asyncpg

from common.accounts import USER_FACING, account_id, kind_of
from common.contracts.ledger import AlertLevels, AlertView
from common.identity import Identity
from services.ledger.alerts import domain, store
from services.ledger.alerts.domain import AccountAlerts
from services.ledger.postings import store as postings_store
from services.ledger.postings.domain import AccountNotFound


def _user_facing(code: str) -> str:
    try:
        if kind_of(code) in USER_FACING:
            return code
    except ValueError:
        pass
    raise AccountNotFound("No such account.")


async def levels_of(pool: asyncpg.Pool, tenant_id: uuid.UUID, code: str) -> list[AlertView]:
    """The account's levels, in the order they were set, each with what it is in credits now."""
    wanted = account_id(tenant_id, _user_facing(code))
    async with pool.acquire() as conn:
        return views(await store.account_alerts(conn, wanted))


async def set_levels(pool: asyncpg.Pool, identity: Identity, code: str, levels: AlertLevels) -> list[AlertView]:
    """Replace the account's levels. The account is locked as a posting locks it, so a posting sees either
    the old levels or the new ones with their flags; a level the balance is already below starts below."""
    tenant_id = domain.require_setter(identity)
    wanted = [(level.name, level.kind, level.value) for level in levels.levels]
    domain.check_levels(wanted)
    code = _user_facing(code)
    async with pool.acquire() as conn, conn.transaction():
        [account] = (await postings_store.lock_for_posting(conn, tenant_id, [code])).values()
        known = await store.account_alerts(conn, account.id)
        new = domain.new_levels(account.id, wanted, account.available, known.last_purchase)
        await store.replace_levels(conn, tenant_id, account.id, new)
    return views(AccountAlerts(tuple(new), known.last_purchase))


def views(alerts: AccountAlerts) -> list[AlertView]:
    return [
        AlertView(id=level.id, name=level.name, kind=level.kind, value=level.value, below=level.below,
                  threshold=domain.threshold_of(level, alerts.last_purchase) or 0)
        for level in alerts.levels
    ]
