"""Reporting's internal HTTP API: the log's queries (GET /logs, /logs.csv, /logs/report) and its page
of entries, declared once. Reporting's routes validate the queries and shape the page with these
classes; the gateway's reporting client (`gateway.clients.reporting`) parses the page with them.

The gateway sends the query as parameters named by these models, but does not validate them: it passes
on the client's own filters, so that reporting's answer (a 400 naming the field) is the client's answer.
Reporting speaks in account ids, account codes and user ids; the gateway puts people's names on them.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# Which accounts a query reads: the ones `account` names, every user-facing account of the caller's
# tenant, or every user account of it (System Credits aside). Naming a scope keeps hundreds of ids out of
# a URL.
Scope = Literal["accounts", "tenant", "users"]
Direction = Literal["in", "out"]
# `expiry`: a hold lapsed (moves no credits); `lot_expiry`: credits of one lot lapsed; `grant`: promotional
# credits an operator gave.
Kind = Literal[
    "purchase", "transfer", "hold", "capture", "void", "expiry", "mode_change", "refund", "grant", "lot_expiry",
    "delivery_refund"
]


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
    """A page of the log (GET /logs); the CSV (GET /logs.csv) takes the bare selection."""

    cursor: str | None = None
    limit: int = 100


class ReportQuery(SelectionQuery):
    """The print-ready report (GET /logs/report)."""

    format: Literal["html", "pdf"] = "html"


class LogEntry(BaseModel):
    """A row of the log: accounts by id, the other side by account code, the actor by user id (or by an
    internal system's client id)."""

    id: uuid.UUID
    occurred_at: datetime
    account_id: uuid.UUID
    # The ledger transaction the row belongs to: a transfer's rows on both sides share it.
    transaction_id: uuid.UUID
    direction: Direction
    quantity: int
    kind: str
    balance_after: int
    counterparty: str | None
    actor: str | None
    reference: str | None
    note: str | None
    reservation: bool
    # Added with credits by lot (defaults, so either side may be older than the other): how many of
    # `quantity` were promotional credits, and for a `lot_expiry` row when its lot lapsed.
    promotional: int = 0
    lot_expires_at: datetime | None = None


class LogPage(BaseModel):
    """A page of the log; `stale` when the consistency token's transaction had not arrived by the end of
    the (bounded) wait for it, so the page may not show it yet."""

    entries: list[LogEntry]
    next_cursor: str | None
    stale: bool


class UsageQuery(BaseModel):
    """Credits in and out per day (GET /usage, /usage.svg): which accounts, as for the log, and how many
    days back, counted in the tenant's own days."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    scope: Scope = "accounts"
    account: list[uuid.UUID] = Field(default_factory=list, max_length=1000)
    days: int = 30


class UsageDay(BaseModel):
    """One day in the tenant's time zone: credits that came in and went out, holds aside (a sent message
    counts once, as its capture)."""

    date: date
    credits_in: int
    credits_out: int
    # Added with credits by lot, with defaults so an older answer still reads: `credits_in` split into
    # purchased and promotional credits (the two add up to it), and how much of `credits_out` lapsed.
    credits_in_purchased: int = Field(default=0, description="Credits in that were paid for")
    credits_in_promotional: int = Field(default=0, description="Credits in that were promotional (granted)")
    credits_expired: int = Field(default=0, description="Credits out because their lot expired")


class Usage(BaseModel):
    """Every day of the period, oldest first, a day without movements included as zeros."""

    timezone: str
    days: list[UsageDay]
