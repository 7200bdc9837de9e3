"""Postgres access shared by the services: the pool, the database itself, and migrations.

Migrations are plain forward-only `.sql` files. Each service applies the shared set (outbox, inbox)
and then its own, under a Postgres advisory lock so that two processes starting together never apply
the same file twice.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from common.logs import get_logger

log = get_logger(__name__)

SHARED_MIGRATIONS = Path(__file__).parent / "migrations"
# Any constant works; it only has to be the same for every process migrating the same database.
_MIGRATION_LOCK_KEY = 7_342_001

# Prefixed to a statement (`... FROM async_commit`), it commits without waiting for the WAL to reach the
# disk: a crash may lose the last fraction of a second of such commits, never corrupt them. Only for
# writes whose loss is repaired by design: the relay's "published" marks (lost, the events go out again
# and the inboxes drop them), the gateway's stored answers (lost, the retry reaches the services under
# the same derived key and is answered the first result). A commit that waits costs this 2-core machine
# about 60 us of CPU more (pgbench, one-row inserts: 22,000/s waiting, 56,000/s not).
ASYNC_COMMIT = "WITH async_commit AS (SELECT set_config('synchronous_commit', 'off', true))"

# What a query raises while the database restarts or cannot be reached: a dependency that is down,
# to be answered 503 (try again), not a bug of ours (500). Refused and reset connections,
# a connection lost under a query (class 08), a server shutting down or recovering (class 57), and the
# protocol state asyncpg is left in by a connection the server killed mid-operation.
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    ConnectionError,
    asyncpg.PostgresConnectionError,
    asyncpg.OperatorInterventionError,
    asyncpg.InternalClientError,
)


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Hand a connection back to the pool as it is. asyncpg's default reset costs a round trip on every
    release (unlock advisory locks, close cursors, UNLISTEN, RESET ALL) to undo session state that no
    pooled connection here ever sets: locks are transaction-scoped, cursors live inside transactions,
    the outbox relay listens on a connection of its own and nothing uses SET. An open transaction is
    still rolled back by asyncpg itself."""


async def create_pool(dsn: str, size: int = 8) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn, min_size=1, max_size=size, init=_init_connection, reset=_keep_session, command_timeout=30
    )
    assert pool is not None
    return pool


async def connect(dsn: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(dsn)
    await _init_connection(conn)
    return conn


def _database_name(dsn: str) -> str:
    return urlsplit(dsn).path.lstrip("/")


def _maintenance_dsn(dsn: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path="/postgres"))


async def ensure_database(dsn: str) -> None:
    """Create the service's database if it does not exist yet (each service owns one)."""
    name = _database_name(dsn)
    conn = await asyncpg.connect(_maintenance_dsn(dsn))
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            try:
                # Identifiers cannot be parameters; quote_ident-style escaping keeps it safe.
                quoted = '"' + name.replace('"', '""') + '"'
                await conn.execute(f"CREATE DATABASE {quoted}")
                log.info("database_created", database=name)
            except asyncpg.DuplicateDatabaseError:
                pass  # another process created it between our check and our CREATE
    finally:
        await conn.close()


async def migrate(dsn: str, service_migrations: Path, extra: Sequence[tuple[str, Path]] = ()) -> list[str]:
    """Apply every migration not yet applied; answers the names applied now.

    `extra` are further sets, each (name, folder), applied after the service's own and recorded under
    their name: the tables of something only some deployments run beside the service (a fake)."""
    await ensure_database(dsn)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK_KEY)
        try:
            await conn.execute(
                """CREATE TABLE IF NOT EXISTS schema_migrations (
                       name text PRIMARY KEY,
                       applied_at timestamptz NOT NULL DEFAULT now())"""
            )
            done = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}
            applied = []
            sets = [("shared", SHARED_MIGRATIONS), ("service", service_migrations), *extra]
            for name, path in _migration_files(sets):
                if name in done:
                    continue
                async with conn.transaction():
                    await conn.execute(path.read_text())
                    await conn.execute("INSERT INTO schema_migrations (name) VALUES ($1)", name)
                applied.append(name)
                log.info("migration_applied", migration=name)
            return applied
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK_KEY)
    finally:
        await conn.close()


def _migration_files(sets: Sequence[tuple[str, Path]]) -> list[tuple[str, Path]]:
    files = []
    for prefix, folder in sets:
        for path in sorted(folder.glob("*.sql")):
            files.append((f"{prefix}/{path.name}", path))
    return files
