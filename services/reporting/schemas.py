"""The shapes of the reporting service's HTTP queries and answers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.reporting.domain import Direction, Kind, LogEntry, LogPage, Scope


class SelectionQuery(BaseModel):
    """What every log view takes: which accounts, how far back, which rows."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    # The gateway decides what the caller may view: the accounts it names, or a whole scope of the
    # caller's tenant. Ranges are checked by the domain (422, a rule); here only the shape (400).
    scope: Scope = "accounts"
    account: list[uuid.UUID] = Field(default_factory=list, max_length=1000)
    days: int = 30
    kind: Kind | None = None
    direction: Direction | None = None
    consistency_token: int | None = Field(default=None, ge=1)


class LogQuery(SelectionQuery):
    cursor: str | None = None
    limit: int = 100


class ReportQuery(SelectionQuery):
    format: Literal["html", "pdf"] = "html"


class LogEntryOut(BaseModel):
    id: uuid.UUID
    occurred_at: datetime
    account_id: uuid.UUID
    direction: Direction
    quantity: int
    kind: str
    balance_after: int
    counterparty: str | None
    actor: str | None
    reference: str | None
    note: str | None
    reservation: bool

    @classmethod
    def of(cls, entry: LogEntry) -> LogEntryOut:
        return cls(
            id=entry.id,
            occurred_at=entry.occurred_at.astimezone(UTC),
            account_id=entry.account_id,
            direction=entry.direction,
            quantity=entry.quantity,
            kind=entry.kind,
            balance_after=entry.balance_after,
            counterparty=entry.counterparty_code,
            actor=str(entry.actor_user_id) if entry.actor_user_id else None,
            reference=entry.reference,
            note=entry.note,
            reservation=entry.reservation,
        )


class LogPageOut(BaseModel):
    entries: list[LogEntryOut]
    next_cursor: str | None
    stale: bool

    @classmethod
    def of(cls, page: LogPage) -> LogPageOut:
        entries = [LogEntryOut.of(entry) for entry in page.entries]
        return cls(entries=entries, next_cursor=page.next_cursor, stale=page.stale)
