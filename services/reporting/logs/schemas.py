"""The log's entries in the shape of reporting's API (`common.contracts.reporting`, which also holds
the queries it takes)."""

from __future__ import annotations

from datetime import UTC

from common.contracts import reporting as contract
from services.reporting.entries.domain import LogEntry
from services.reporting.logs.domain import LogPage


def log_entry_answer(entry: LogEntry) -> contract.LogEntry:
    return contract.LogEntry(
        id=entry.id,
        occurred_at=entry.occurred_at.astimezone(UTC),
        account_id=entry.account_id,
        transaction_id=entry.transaction_id,
        direction=entry.direction,
        quantity=entry.quantity,
        kind=entry.kind,
        balance_after=entry.balance_after,
        counterparty=entry.counterparty_code,
        actor=str(entry.actor_user_id) if entry.actor_user_id else None,
        reference=entry.reference,
        note=entry.note,
        reservation=entry.reservation,
        promotional=entry.promotional,
        lot_expires_at=entry.lot_expires_at.astimezone(UTC) if entry.lot_expires_at else None,
    )


def log_page_answer(page: LogPage) -> contract.LogPage:
    entries = [log_entry_answer(entry) for entry in page.entries]
    return contract.LogPage(entries=entries, next_cursor=page.next_cursor, stale=page.stale)
