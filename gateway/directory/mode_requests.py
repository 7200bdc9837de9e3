"""The SQL of credit mode requests: a master's request to switch their tenant's credit mode, the
operator's decision, and the notices that tell operators of a new request."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import asyncpg

Status = Literal["pending", "approved", "rejected"]

_COLUMNS = """r.id, r.tenant_id, t.name AS tenant_name, r.mode, r.previous_mode, r.reason, r.status,
    r.requested_by, asker.name AS requested_by_name, asker.email AS requested_by_email, r.requested_at,
    r.decided_by, decider.name AS decided_by_name, r.decided_at, r.note, r.last_error, r.last_attempt_at"""
_FROM = """credit_mode_requests r
    JOIN tenants t ON t.id = r.tenant_id
    JOIN users asker ON asker.id = r.requested_by
    LEFT JOIN users decider ON decider.id = r.decided_by"""


@dataclass(frozen=True)
class ModeRequest:
    id: uuid.UUID
    tenant_id: uuid.UUID
    tenant_name: str
    mode: Literal["shared", "individual"]
    previous_mode: Literal["shared", "individual"]
    reason: str
    status: Status
    requested_by: uuid.UUID
    requested_by_name: str
    requested_by_email: str
    requested_at: datetime
    decided_by: uuid.UUID | None
    decided_by_name: str | None
    decided_at: datetime | None
    note: str | None
    last_error: str | None
    last_attempt_at: datetime | None


async def insert(
    conn: asyncpg.Connection, request_id: uuid.UUID, tenant_id: uuid.UUID, mode: str, previous_mode: str,
    reason: str, requested_by: uuid.UUID,
) -> bool:
    """Add a pending request; False when the tenant already has one pending (the partial unique index)."""
    added = await conn.fetchval(
        """INSERT INTO credit_mode_requests (id, tenant_id, mode, previous_mode, reason, requested_by)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (tenant_id) WHERE status = 'pending' DO NOTHING RETURNING true""",
        request_id, tenant_id, mode, previous_mode, reason, requested_by,
    )
    return bool(added)


async def get(conn: asyncpg.Connection, request_id: uuid.UUID, lock: bool = False) -> ModeRequest | None:
    """One request; `lock` holds its row (FOR UPDATE OF r) until the transaction ends."""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM {_FROM} WHERE r.id = $1" + (" FOR UPDATE OF r" if lock else ""),  # noqa: S608
        request_id,
    )
    return ModeRequest(**dict(row)) if row else None


async def listed(
    conn: asyncpg.Connection, tenant_id: uuid.UUID | None, status: Status | None, limit: int
) -> list[ModeRequest]:
    """Newest first; one tenant's (None: every tenant's), of one status (None: any)."""
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM {_FROM}
            WHERE ($1::uuid IS NULL OR r.tenant_id = $1) AND ($2::text IS NULL OR r.status = $2)
            ORDER BY r.requested_at DESC, r.id DESC LIMIT $3""",  # noqa: S608
        tenant_id, status, limit,
    )
    return [ModeRequest(**dict(r)) for r in rows]


async def decide(
    conn: asyncpg.Connection, request_id: uuid.UUID, status: Status, decided_by: uuid.UUID, note: str | None
) -> None:
    await conn.execute(
        """UPDATE credit_mode_requests SET status = $2, decided_by = $3, decided_at = now(), note = $4
           WHERE id = $1 AND status = 'pending'""",
        request_id, status, decided_by, note,
    )


async def record_failed_approval(conn: asyncpg.Connection, request_id: uuid.UUID, error: str) -> None:
    """Why an approval could not be carried out; the request stays pending."""
    await conn.execute(
        "UPDATE credit_mode_requests SET last_error = $2, last_attempt_at = now() WHERE id = $1",
        request_id, error,
    )


async def operators(conn: asyncpg.Connection) -> list[tuple[uuid.UUID, str]]:
    """The active operators, each with their email address."""
    rows = await conn.fetch("SELECT id, email FROM users WHERE role = 'operator' AND active ORDER BY email")
    return [(r["id"], r["email"]) for r in rows]


async def add_notice(conn: asyncpg.Connection, request_id: uuid.UUID, operator_id: uuid.UUID) -> uuid.UUID:
    """The subject of the email telling this operator of this request."""
    notice_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO credit_mode_request_notices (id, request_id, operator_id) VALUES ($1, $2, $3)",
        notice_id, request_id, operator_id,
    )
    return notice_id


async def request_of_notice(conn: asyncpg.Connection, notice_id: uuid.UUID) -> ModeRequest | None:
    request_id = await conn.fetchval("SELECT request_id FROM credit_mode_request_notices WHERE id = $1", notice_id)
    return await get(conn, request_id) if request_id else None
