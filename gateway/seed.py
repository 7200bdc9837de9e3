"""The demo tenants and people, created idempotently: running it again changes nothing."""

from __future__ import annotations

import asyncio
import secrets
import uuid

from common.db import connect
from gateway.directory import store
from gateway.directory.domain import Person, Tenant
from gateway.directory.events import announce
from gateway.web.auth import hash_password

DEMO_PASSWORD = "demo-password"  # noqa: S105 - documented demo credential, not a secret
_NS = uuid.UUID("0d6b3a52-4f0e-4a43-8d0e-51b1c7a0d5e1")


def demo_id(name: str) -> uuid.UUID:
    return uuid.uuid5(_NS, name)


ACME = Tenant(demo_id("tenant/acme"), "Acme Realty", "Acme Realty Pty Ltd", "53 004 085 616", "individual",
              "Australia/Sydney")
GLOBEX = Tenant(demo_id("tenant/globex"), "Globex", "Globex Corporation Pty Ltd", "33 102 417 032", "shared",
                "Australia/Melbourne")


def _person(email: str, name: str, tenant: Tenant | None, role: str, team: str | None = None,
            manage_credits: bool = False) -> Person:
    return Person(
        id=demo_id(f"user/{email}"), tenant_id=tenant.id if tenant else None, email=email, name=name,
        role=role,  # type: ignore[arg-type]
        team=team, active=True, send_sms=role != "operator", manage_credits=manage_credits,
    )


PEOPLE = [
    _person("master@acme.test", "Ava Nguyen", ACME, "master"),
    _person("ben@acme.test", "Ben Carter", ACME, "user", team="Sales"),
    _person("cleo@acme.test", "Cleo Park", ACME, "user", team="Sales"),
    _person("dan@acme.test", "Dan Reyes", ACME, "user", team="Rentals", manage_credits=True),
    _person("master@globex.test", "Gail Stone", GLOBEX, "master"),
    _person("ops@platform.test", "Olive Ops", None, "operator"),
]


async def seed(dsn: str) -> int:
    """Answers how many people were added (0 when the demo data was already there)."""
    conn = await connect(dsn)
    try:
        async with conn.transaction():
            tenants = [t for t in (ACME, GLOBEX) if await store.insert_tenant(conn, t)]
            password_hash = await asyncio.to_thread(hash_password, DEMO_PASSWORD)
            people = [p for p in PEOPLE if await store.insert_person(conn, p, password_hash)]
            # The other services learn of them from these events, sent once the gateway runs.
            await announce(conn, tenants, people)
        return len(people)
    finally:
        await conn.close()


async def create_service_client(dsn: str, client_id: str, tenant_id: uuid.UUID | None = None) -> str:
    """Create (or rotate the secret of) an internal system's client, bound to `tenant_id` (whose directory
    it may then sync) or to no tenant; answers the new secret, which is shown this once and kept only as a
    hash. A LookupError names a tenant that does not exist."""
    secret = secrets.token_urlsafe(32)
    secret_hash = await asyncio.to_thread(hash_password, secret)
    conn = await connect(dsn)
    try:
        if tenant_id is not None and await store.tenant(conn, tenant_id) is None:
            raise LookupError(f"No tenant {tenant_id}.")
        await store.save_service_client(conn, client_id, secret_hash, tenant_id)
    finally:
        await conn.close()
    return secret
