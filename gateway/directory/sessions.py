"""The SQL of sessions: one row per sign-in, holding the hash of its newest refresh token."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from datetime import datetime

import asyncpg

from gateway.directory.domain import Person, Tenant

_PERSON_FIELDS = tuple(f.name for f in fields(Person))
_TENANT_FIELDS = tuple(f.name for f in fields(Tenant))
# Built once from the dataclasses' field names (the columns' names), never from anything a request sent.
_CALLER = (
    f"SELECT {', '.join('u.' + f for f in _PERSON_FIELDS)}, "  # noqa: S608
    f"{', '.join('t.' + f + ' AS t_' + f for f in _TENANT_FIELDS)} "
    "FROM sessions s JOIN users u ON u.id = s.person_id LEFT JOIN tenants t ON t.id = u.tenant_id "
    "WHERE s.id = $1 AND s.person_id = $2 AND s.revoked_at IS NULL"
)


@dataclass(frozen=True)
class SessionState:
    """A session as a refresh finds it (locked)."""

    generation: int
    refresh_hash: bytes
    expires_at: datetime
    revoked: bool
    person_active: bool
    previous_hash: bytes | None = None  # the token rotated away from, forgiven briefly (judge_refresh)
    rotated_at: datetime | None = None
    # The database's time when it was read: the times above are the database's, and so must be the
    # clock they are judged by (an application server's clock may be off).
    read_at: datetime | None = None


@dataclass(frozen=True)
class SessionRow:
    id: uuid.UUID
    created_at: datetime
    last_used_at: datetime
    user_agent: str | None
    ip: str | None


async def caller(
    conn: asyncpg.Connection, person_id: uuid.UUID, session_id: uuid.UUID
) -> tuple[Person, Tenant | None] | None:
    """The person of a live session and their tenant, in one round trip: every authenticated request
    asks, so a revoked session's access tokens stop working at once, not when they expire."""
    row = await conn.fetchrow(_CALLER, session_id, person_id)
    if row is None:
        return None
    tenant = Tenant(**{f: row["t_" + f] for f in _TENANT_FIELDS}) if row["t_id"] is not None else None
    return Person(**{f: row[f] for f in _PERSON_FIELDS}), tenant


async def start(
    conn: asyncpg.Connection, session_id: uuid.UUID, person_id: uuid.UUID, refresh_hash: bytes, ttl: int,
    user_agent: str | None, ip: str | None,
) -> None:
    await conn.execute(
        """INSERT INTO sessions (id, person_id, refresh_hash, expires_at, user_agent, ip)
           VALUES ($1, $2, $3, now() + make_interval(secs => $4), $5, $6)""",
        session_id, person_id, refresh_hash, ttl, user_agent, ip,
    )


async def lock_for_refresh(conn: asyncpg.Connection, session_id: uuid.UUID) -> tuple[SessionState, uuid.UUID] | None:
    """A session and whose it is, locked: two refreshes with one token are judged one after the other,
    so only one of them can be the first use."""
    row = await conn.fetchrow(
        """SELECT s.person_id, s.generation, s.refresh_hash, s.expires_at, s.revoked_at IS NOT NULL AS revoked,
                  u.active, s.previous_hash, s.rotated_at, now() AS read_at
           FROM sessions s JOIN users u ON u.id = s.person_id WHERE s.id = $1 FOR UPDATE OF s""",
        session_id,
    )
    if row is None:
        return None
    previous = row["previous_hash"]
    state = SessionState(row["generation"], bytes(row["refresh_hash"]), row["expires_at"], row["revoked"],
                         row["active"], bytes(previous) if previous is not None else None, row["rotated_at"],
                         row["read_at"])
    return state, row["person_id"]


async def rotate(
    conn: asyncpg.Connection, session_id: uuid.UUID, generation: int, refresh_hash: bytes, ttl: int, ip: str | None,
    *, forgive_previous: bool = True,
) -> None:
    """The session's next refresh token. The one it replaces stays forgiven for a moment (a lost answer)
    unless the rotation itself answered a forgiven one: then nothing earlier is forgiven, so that a copy
    sent again cannot keep a second branch of the session alive."""
    await conn.execute(
        """UPDATE sessions SET generation = $2, refresh_hash = $3,
                  previous_hash = CASE WHEN $6 THEN refresh_hash END,
                  rotated_at = CASE WHEN $6 THEN now() ELSE rotated_at END,
                  last_used_at = now(), expires_at = now() + make_interval(secs => $4), ip = coalesce($5, ip)
           WHERE id = $1""",
        session_id, generation, refresh_hash, ttl, ip, forgive_previous,
    )


async def revoke(conn: asyncpg.Connection, session_id: uuid.UUID, because: str,
                 person_id: uuid.UUID | None = None) -> bool:
    """End a live session (only if it is this person's, when one is named); True when one ended."""
    ended = await conn.fetchval(
        """UPDATE sessions SET revoked_at = now(), revoked_because = $2
           WHERE id = $1 AND revoked_at IS NULL AND ($3::uuid IS NULL OR person_id = $3) RETURNING true""",
        session_id, because, person_id,
    )
    return bool(ended)


async def revoke_all_of(conn: asyncpg.Connection, person_id: uuid.UUID, because: str) -> int:
    """End every live session of a person (deactivated, say); how many ended."""
    ended = await conn.fetch(
        """UPDATE sessions SET revoked_at = now(), revoked_because = $2
           WHERE person_id = $1 AND revoked_at IS NULL RETURNING id""",
        person_id, because,
    )
    return len(ended)


async def live_sessions_of(conn: asyncpg.Connection, person_id: uuid.UUID) -> list[SessionRow]:
    rows = await conn.fetch(
        """SELECT id, created_at, last_used_at, user_agent, ip FROM sessions
           WHERE person_id = $1 AND revoked_at IS NULL AND expires_at > now()
           ORDER BY last_used_at DESC, id""",
        person_id,
    )
    return [SessionRow(**dict(r)) for r in rows]


async def purge_ended(conn: asyncpg.Connection, kept_days: int) -> int:
    """Delete sessions that ended (expired or revoked) more than `kept_days` ago."""
    deleted = await conn.fetch(
        """DELETE FROM sessions
           WHERE expires_at < now() - make_interval(days => $1) OR revoked_at < now() - make_interval(days => $1)
           RETURNING id""",
        kept_days,
    )
    return len(deleted)
