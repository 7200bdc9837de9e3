"""Low-balance alerts, raised inside the transaction that changed the balance."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import asyncpg

from common import events, outbox
from common.events import BalanceLow, Event
from services.ledger import domain, store


async def after_change(conn: asyncpg.Connection, tenant_id: uuid.UUID, changed: Iterable[domain.Account]) -> None:
    """For each changed user-facing account, publish `ledger.balance.low` once when its available
    balance crosses below the tenant's threshold, and re-arm it once it is back above."""
    facing = [(a.id, a.code, a.available) for a in changed if a.user_facing]
    if not facing:
        return
    threshold = await store.low_balance_threshold(conn, tenant_id)
    if threshold <= 0:
        return
    alerted = await store.low_balance_alerted(conn, [i for i, _, _ in facing])
    rearm: list[uuid.UUID] = []
    mark: list[uuid.UUID] = []
    for account_id, code, available in facing:
        send, alerted_after = domain.low_balance_alert(available, threshold, alerted.get(account_id, False))
        (mark if alerted_after else rearm).append(account_id)
        if send:
            payload = BalanceLow(tenant_id=tenant_id, account_id=account_id, account_code=code,
                                 available=available, threshold=threshold)
            await outbox.enqueue(conn, Event.new(type=events.BALANCE_LOW, source="ledger",
                                                 subject=f"{tenant_id}/{account_id}", data=payload))
    await store.set_low_balance_alerted(conn, mark, True)
    await store.set_low_balance_alerted(conn, rearm, False)
