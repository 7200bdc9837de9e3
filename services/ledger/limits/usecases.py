"""Reading and setting a person's monthly credit limit, and the check a hold makes against it.

The check runs inside the hold's posting transaction, after post() has locked the tenant's stream and the
account the hold is placed on. That lock is what serialises a person's holds: in individual mode they
send from their own User Credits, whose row is locked; in shared mode everyone sends from System Credits,
whose row lock serialises the whole tenant's holds. A person's concurrent holds always take the same
account (the credit mode is read under the tenant lock, so it cannot differ between them), so the second
waits for the first to commit, and its read of the month's use (READ COMMITTED: a fresh snapshot per
statement) already counts the first: two holds at once cannot both pass the limit.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from common.contracts.ledger import UserLimitView
from common.identity import Identity
from common.zones import zone_or_utc
from services.ledger.limits import domain, store
from services.ledger.lots.clock import CLOCK


async def check_hold(
    conn: asyncpg.Connection, hold_id: uuid.UUID, tenant_id: uuid.UUID, user_id: uuid.UUID, quantity: int,
    database_now: datetime,
) -> None:
    """Refuse a hold for `user_id`'s message that the month's limit leaves no room for, else count it in
    the month (whether the person has a limit or not: one set later counts what was used before it). Call
    with the hold's account locked (see above), in the hold's transaction."""
    facts = await store.limit_facts(conn, tenant_id, user_id)
    month = _month(database_now, facts["timezone"])
    if facts["lim"] is not None:
        used = await store.used_in(conn, tenant_id, user_id, month.starts_at, month.resets_at)
        domain.check_hold(int(facts["lim"]), used, quantity, facts["name"])
    await store.count_hold(conn, hold_id, tenant_id, user_id, month.starts_at)


async def limit_of(pool: asyncpg.Pool, identity: Identity, user_id: uuid.UUID) -> UserLimitView:
    tenant_id = domain.require_may_see(identity, user_id)
    async with pool.acquire() as conn:
        return await _view(conn, tenant_id, user_id)


async def set_limit(pool: asyncpg.Pool, identity: Identity, user_id: uuid.UUID, limit: int | None) -> UserLimitView:
    tenant_id = domain.require_may_set(identity)
    domain.check_limit(limit)
    async with pool.acquire() as conn, conn.transaction():
        await _view(conn, tenant_id, user_id)  # another tenant's person is not found
        await store.set_limit(conn, tenant_id, user_id, limit)
        return await _view(conn, tenant_id, user_id)


async def _view(conn: asyncpg.Connection, tenant_id: uuid.UUID, user_id: uuid.UUID) -> UserLimitView:
    facts = await store.limit_facts(conn, tenant_id, user_id)
    # A person the directory has not announced yet may still be given a limit (the gateway found them);
    # one the directory places in another tenant is not this tenant's to see.
    if facts["user_tenant_id"] not in (None, tenant_id):
        raise domain.UserNotFound()
    month = _month(facts["now"], facts["timezone"])
    used = await store.used_in(conn, tenant_id, user_id, month.starts_at, month.resets_at)
    limit = None if facts["lim"] is None else int(facts["lim"])
    return UserLimitView(user_id=user_id, monthly_credit_limit=limit, used_this_month=used,
                         remaining=domain.remaining(limit, used), resets_at=month.resets_at)


def _month(database_now: datetime, timezone: str | None) -> domain.Month:
    return domain.month_of(CLOCK.at(database_now), zone_or_utc(timezone))

