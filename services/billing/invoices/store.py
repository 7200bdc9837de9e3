"""The numbering of tax documents, parameterised SQL.

Each tenant's invoices, and its adjustment notes in a series of their own, are numbered without gaps:
the counter row is updated inside the paying (refunding) transaction, so a rolled-back payment gives
its number back and concurrent ones queue on the row. Every number carries the tenant's document prefix
(INV-ACME-000012), which makes it unique for the supplier whose ABN is on all tenants' invoices.
"""

from __future__ import annotations

import uuid

import asyncpg

from services.billing.invoices.domain import (
    format_adjustment_note_number,
    format_invoice_number,
    prefix_candidates,
    prefix_from_id,
    prefix_from_name,
)


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


async def allocate_invoice_number(conn: asyncpg.Connection, tenant_id: uuid.UUID) -> str:
    """The tenant's next tax invoice number, INV-ACME-000012, inside the paying transaction. The counter
    row is taken first: concurrent payments of the tenant queue there, before the prefix is settled."""
    number = await next_invoice_number(conn, tenant_id)
    return format_invoice_number(number, await document_prefix(conn, tenant_id))


async def allocate_note_number(conn: asyncpg.Connection, tenant_id: uuid.UUID) -> str:
    """The tenant's next adjustment note number, ADJ-ACME-000003, inside the refunding transaction."""
    number = await next_note_number(conn, tenant_id)
    return format_adjustment_note_number(number, await document_prefix(conn, tenant_id))


async def prefix_of(conn: asyncpg.Connection, tenant_id: uuid.UUID) -> str | None:
    prefix: str | None = await conn.fetchval("SELECT prefix FROM document_prefixes WHERE tenant_id = $1", tenant_id)
    return prefix


async def document_prefix(conn: asyncpg.Connection, tenant_id: uuid.UUID) -> str:
    """The tenant's prefix; one made from its id if billing has not heard its name by its first document
    (kept from then on, as any prefix is)."""
    return await prefix_of(conn, tenant_id) or await assign_prefix(conn, tenant_id, None)


async def assign_prefix(conn: asyncpg.Connection, tenant_id: uuid.UUID, name: str | None) -> str:
    """The tenant's prefix: the one it has, or a new one from its name (from its id when there is no
    usable name), the first of the candidates no other tenant holds. A prefix once given never changes."""
    base = prefix_from_name(name) if name else ""
    for candidate in prefix_candidates(base or prefix_from_id(tenant_id)):
        # DO NOTHING on either conflict: this tenant got one meanwhile (a concurrent first document
        # waits here for the other's commit, then reads it), or another tenant holds the candidate.
        inserted = await conn.fetchval(
            """INSERT INTO document_prefixes (tenant_id, prefix, derived_from) VALUES ($1, $2, $3)
               ON CONFLICT DO NOTHING RETURNING prefix""",
            tenant_id, candidate, name if base else None,
        )
        if inserted is not None:
            return str(inserted)
        existing = await prefix_of(conn, tenant_id)
        if existing is not None:
            return existing
    raise AssertionError("unreachable: the candidates never run out")
