"""The numbering of tax documents, parameterised SQL.

Each tenant's invoices, and its adjustment notes in a series of their own, are numbered without gaps:
the counter row is updated inside the paying (refunding) transaction, so a rolled-back payment gives
its number back and concurrent ones queue on the row.
"""

from __future__ import annotations

import uuid

import asyncpg


async def next_invoice_number(conn: asyncpg.Connection, tenant_id: uuid.UUID) -> int:
    number: int = await conn.fetchval(
        """INSERT INTO invoice_counters AS c (tenant_id, last_number) VALUES ($1, 1)
           ON CONFLICT (tenant_id) DO UPDATE SET last_number = c.last_number + 1
           RETURNING last_number""",
        tenant_id,
    )
    return number


async def next_note_number(conn: asyncpg.Connection, tenant_id: uuid.UUID) -> int:
    """Gapless like invoice numbers: the counter row is taken inside the refunding transaction."""
    number: int = await conn.fetchval(
        """INSERT INTO adjustment_note_counters AS c (tenant_id, last_number) VALUES ($1, 1)
           ON CONFLICT (tenant_id) DO UPDATE SET last_number = c.last_number + 1
           RETURNING last_number""",
        tenant_id,
    )
    return number
