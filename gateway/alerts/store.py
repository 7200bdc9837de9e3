"""The alert emails' SQL: one row per recipient, written with the email it owes, read back to compose it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

from common import mail


@dataclass(frozen=True)
class AlertEmail:
    id: uuid.UUID
    tenant_id: uuid.UUID
    event_id: uuid.UUID
    kind: str  # balance_low | balance_recovered
    account_id: uuid.UUID
    account_name: str | None  # the holder's name; None: System Credits
    recipient_name: str
    level: str
    threshold: int
    available: int


async def owe(conn: asyncpg.Connection, email: AlertEmail, recipient: str) -> None:
    """Keep what the email says and owe it, in the caller's transaction."""
    await conn.execute(
        """INSERT INTO alert_emails (id, tenant_id, event_id, kind, account_id, account_name, recipient_name,
                                     level, threshold, available)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
        email.id, email.tenant_id, email.event_id, email.kind, email.account_id, email.account_name,
        email.recipient_name, email.level, email.threshold, email.available,
    )
    await mail.owe(conn, email.kind, email.id, recipient, email.tenant_id)


async def alert_email(conn: asyncpg.Connection, email_id: uuid.UUID) -> AlertEmail | None:
    row = await conn.fetchrow(
        """SELECT id, tenant_id, event_id, kind, account_id, account_name, recipient_name, level, threshold,
                  available FROM alert_emails WHERE id = $1""",
        email_id,
    )
    return AlertEmail(**dict(row)) if row else None
