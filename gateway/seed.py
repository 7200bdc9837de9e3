"""The demo tenants and people, created idempotently: running it again changes nothing."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg

from gateway import store
from gateway.auth import hash_password
from gateway.domain import Person, Tenant

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
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            for tenant in (ACME, GLOBEX):
                await store.upsert_tenant(conn, tenant)
            password_hash = await asyncio.to_thread(hash_password, DEMO_PASSWORD)
            added = 0
            for person in PEOPLE:
                added += await store.insert_person(conn, person, password_hash)
        return added
    finally:
        await conn.close()
