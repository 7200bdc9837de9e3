"""Billing's emails owed, in the shared email outbox (`common.mail`): which kinds there are, each about a
purchase or a refund of a tenant."""

from __future__ import annotations

import uuid
from typing import Literal

import asyncpg

from common import mail

EmailKind = Literal["tax_invoice", "adjustment_note", "top_up_failed"]


async def owe(
    conn: asyncpg.Connection, tenant_id: uuid.UUID, kind: EmailKind, subject_id: uuid.UUID, recipient: str
) -> None:
    """Owe one email of this kind about this purchase or refund; owing it again changes nothing."""
    await mail.owe(conn, kind, subject_id, recipient, tenant_id=tenant_id)
