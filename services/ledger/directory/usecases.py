"""The ledger's side of directory changes made in the gateway: keep the facts its rules need, and move
credits when a change requires it (a user who may no longer receive, a switch to shared mode). Each change
is one transaction with its inbox row."""

from __future__ import annotations

import uuid

import asyncpg

from common.accounts import SYSTEM, user_code
from common.contracts import queues
from common.contracts.events import CreditModeChanged, TenantChanged, UserChanged
from common.idempotency import request_fingerprint
from common.inbox import first_delivery
from services.ledger.directory import store
from services.ledger.lots.rules import LotRules
from services.ledger.postings import store as postings_store
from services.ledger.postings.domain import Movement, PostingRequest
from services.ledger.postings.usecases import post


async def tenant_changed(pool: asyncpg.Pool, event_id: uuid.UUID, change: TenantChanged) -> None:
    async with pool.acquire() as conn, conn.transaction():
        if await first_delivery(conn, queues.LEDGER_DIRECTORY.name, event_id):
            await store.upsert_tenant(
                conn, change.tenant_id, change.credit_mode, change.low_balance_threshold, change.version,
                timezone=change.timezone, refund_undelivered=change.refund_undelivered,
            )


async def user_changed(pool: asyncpg.Pool, event_id: uuid.UUID, change: UserChanged) -> None:
    """Record the user's facts; when they may no longer receive credits, return their available
    balance to System Credits as a logged transfer made by whoever changed them."""
    async with pool.acquire() as conn, conn.transaction():
        if not await first_delivery(conn, queues.LEDGER_DIRECTORY.name, event_id):
            return
        newer = await store.upsert_user(conn, change.model_dump(), change.version)
        if not newer or (change.active and change.send_sms):
            return
        code = user_code(change.user_id)
        await _sweep_into_system(
            conn, change.tenant_id, [code], kind="transfer", key=f"user-sweep:{change.user_id}:{change.version}",
            actor=change.actor_user_id, note="Returned to System Credits: the user may no longer send SMS",
        )


async def credit_mode_changed(pool: asyncpg.Pool, event_id: uuid.UUID, change: CreditModeChanged) -> None:
    """Individual -> shared sweeps every user's available credits into System Credits, once;
    shared -> individual needs nothing here (user accounts open at zero when first used)."""
    async with pool.acquire() as conn, conn.transaction():
        if not await first_delivery(conn, queues.LEDGER_DIRECTORY.name, event_id):
            return
        # Without this, a transfer that read the old mode could credit an account the sweep below did
        # not know had credits, and leave them with a user in shared mode.
        await postings_store.lock_tenant_postings(conn, change.tenant_id, exclusive=True)
        await store.upsert_tenant(conn, change.tenant_id, change.mode, None, change.version or 0)
        overtaken = await _overtaken(conn, change)
        if change.version is not None:
            await store.note_mode_switch(conn, change.tenant_id, change.version)
        if change.mode != "shared" or overtaken:
            return
        codes = await store.user_accounts_with_credits(conn, change.tenant_id)
        await _sweep_into_system(
            conn, change.tenant_id, codes, kind="mode_change", key=f"mode-change:{event_id}",
            actor=change.actor_user_id, note="Credit mode changed to shared",
        )


async def _overtaken(conn: asyncpg.Connection, change: CreditModeChanged) -> bool:
    """Whether a newer switch than this one is already applied (or the tenant is not shared now): a late,
    older switch changes nothing. Not "whether its upsert applied", nor "whether the tenant's version is
    newer": the gateway announces the tenant's facts at the same version just before the switch, and any
    later change of other facts carries the mode too, so a switch often finds its version, or a newer
    one, already there without anyone having swept."""
    facts = await store.tenant_facts(conn, change.tenant_id)
    if facts is None or facts["credit_mode"] != "shared":
        return True
    switched = facts["mode_switch_version"]
    return change.version is not None and switched is not None and switched > change.version


async def _sweep_into_system(
    conn: asyncpg.Connection, tenant_id: uuid.UUID, codes: list[str], *, kind: str, key: str,
    actor: uuid.UUID | None, note: str,
) -> None:
    if not codes:
        return
    # Lock first and read the balances under the lock: what is swept is what is there at commit.
    # The tenant lock comes before any account lock, in the same order as post() takes them.
    await postings_store.lock_tenant_postings(conn, tenant_id)
    await postings_store.open_accounts(conn, tenant_id, [*codes, SYSTEM])
    accounts = await postings_store.lock_accounts(conn, tenant_id, [*codes, SYSTEM])
    movements = [Movement(code, -accounts[code].available) for code in codes if accounts[code].available > 0]
    if not movements:
        return
    total = -sum(m.amount for m in movements)
    await post(conn, PostingRequest(
        tenant_id=tenant_id, kind=kind, idempotency_key=key,
        request_hash=request_fingerprint([kind, [(m.code, m.amount) for m in movements]]),
        movements=[*movements, Movement(SYSTEM, total)], actor_user_id=actor, note=note,
        # Everything moves, lapsed credits too: they go on lapsing in System Credits, with their lot.
        lots=LotRules(include_lapsed=True),
    ))
