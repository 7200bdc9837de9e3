"""Recording the ledger's transactions in the log, a batch of events per transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from common.contracts import queues
from common.contracts.events import TransactionPosted
from common.inbox import first_deliveries
from services.reporting.entries import domain, store
from services.reporting.entries.domain import LogEntry


@dataclass(frozen=True)
class ArrivedTransaction:
    """A `ledger.transaction.posted` event, with the log entries it adds worked out before any I/O."""

    event_id: uuid.UUID
    posted: TransactionPosted
    entries: list[LogEntry]


def arrived(event_id: uuid.UUID, posted: TransactionPosted) -> ArrivedTransaction:
    """Raises UnreadablePosting for a transaction no log can show: that one event fails, alone."""
    return ArrivedTransaction(event_id, posted, domain.log_entries_of(posted))


async def record_transactions(pool: asyncpg.Pool, batch: Sequence[ArrivedTransaction]) -> list[ArrivedTransaction]:
    """Add posted ledger transactions to the log in one transaction; answers those not applied before.

    The inbox rows and the entries commit together, all or nothing. An event already in the inbox, or
    twice in the batch, is applied once. A different event for the same transaction (the ledger
    re-announcing it) passes the inbox but finds its entries already there and adds nothing.
    """
    async with pool.acquire() as conn, conn.transaction():
        fresh = await first_deliveries(conn, queues.REPORTING_LEDGER_EVENTS.name, [a.event_id for a in batch])
        # Keyed by event id: two copies of one event in a batch (a redelivery) are the same event.
        applied = list({a.event_id: a for a in batch if a.event_id in fresh}.values())
        await store.insert_entries(conn, [entry for a in applied for entry in a.entries])
        await store.mark_all_applied(
            conn, [(a.posted.seq, a.posted.transaction_id, a.posted.tenant_id) for a in applied]
        )
    return applied


async def record_transaction(pool: asyncpg.Pool, event_id: uuid.UUID, posted: TransactionPosted) -> bool:
    """One event on its own (see record_transactions); False when it was already applied."""
    return bool(await record_transactions(pool, [arrived(event_id, posted)]))
