"""Operators' commands: reconcile the log against the ledger, and rebuild it from the ledger's journal.

Rebuild replays the journal through the same idempotent insert the consumer uses, in place, rather than
building a new table and swapping it in. Readers keep reading the live table throughout and only ever
see rows appear (or a drifted row corrected); the consumer keeps running beside it, and because both
derive the same row ids from (transaction, account), whichever writes a row first, the other finds it.
A swap would need the consumer paused, or the events that arrived during the build replayed into the
new table before the swap, to not lose them; and until the swap the new table helps nobody. What the
in-place replay cannot do is remove a row the journal does not have: none should exist (every row
comes from a ledger transaction), and reconcile would show the balance it distorts.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from common.logs import get_logger
from services.reporting import store, usecases
from services.reporting.ledger_client import LedgerClient

log = get_logger(__name__)

@dataclass(frozen=True)
class Difference:
    tenant_id: uuid.UUID
    account_code: str
    log_balance: int
    ledger_balance: int

    def __str__(self) -> str:
        gap = self.log_balance - self.ledger_balance
        return (
            f"tenant {self.tenant_id} account {self.account_code}: log {self.log_balance}, "
            f"ledger {self.ledger_balance} (log {gap:+d})"
        )


@dataclass(frozen=True)
class Reconciliation:
    accounts_compared: int
    differences: list[Difference]


@dataclass(frozen=True)
class Rebuilt:
    transactions: int
    entries_replayed: int
    last_seq: int


def differences(tenant_id: uuid.UUID, log_balances: Mapping[str, int], ledger: Mapping[str, int]) -> list[Difference]:
    """Every account whose latest logged balance is not the ledger's (an account the ledger does not
    name reads as 0 there, as the ledger itself answers for an account never opened)."""
    return [
        Difference(tenant_id, code, balance, ledger.get(code, 0))
        for code, balance in sorted(log_balances.items())
        if ledger.get(code, 0) != balance
    ]


async def reconcile(pool: asyncpg.Pool, ledger: LedgerClient) -> Reconciliation:
    """Compare, per account, the balance after the log's latest row with the ledger's balance.

    Meant for a quiet moment (the consumer caught up): a transaction the ledger committed but whose
    event is still on its way shows as a difference until it arrives, so a difference seen once
    while busy is worth a second run before a rebuild.
    """
    async with pool.acquire() as conn:
        tenants = await store.tenants_in_log(conn)
    compared, found = 0, []
    for tenant_id in tenants:
        async with pool.acquire() as conn:
            logged = await store.latest_balances(conn, tenant_id)
        balances = await ledger.balances(tenant_id, sorted(logged))
        compared += len(logged)
        found += differences(tenant_id, logged, balances)
    return Reconciliation(compared, found)


async def rebuild(
    pool: asyncpg.Pool, ledger: LedgerClient, retention_days: int, now: datetime, page_size: int
) -> Rebuilt:
    """Replay the ledger's whole journal into the log, one journal page per transaction."""
    keep_since = now - timedelta(days=retention_days)
    after_seq, transactions, replayed = 0, 0, 0
    while True:
        page = await ledger.journal_page(after_seq, page_size)
        if page.transactions:
            replayed += await usecases.replay_journal(pool, page.transactions, keep_since)
            transactions += len(page.transactions)
            after_seq = max(after_seq, page.transactions[-1].seq)
            log.info("rebuild_progress", transactions=transactions, last_seq=after_seq)
        if page.next_after_seq is None or not page.transactions:
            return Rebuilt(transactions, replayed, after_seq)
        after_seq = max(after_seq, page.next_after_seq)
