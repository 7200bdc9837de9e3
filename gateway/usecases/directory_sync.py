"""The CRM's directory sync: an internal system, bound to one tenant, puts each of its people by its own id
(`external_id`). An upsert: the first PUT creates the person (with no password; invited only if asked),
later ones change what differs, and a PUT that changes nothing announces nothing.

Which tenant is the service client's binding (`python -m gateway service-client <id> --tenant <tenant>`),
never something the request says, so a client cannot write another tenant's people at all.
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from gateway.directory import sessions, store
from gateway.directory.domain import Person
from gateway.directory.events import announce, publish, user_event
from gateway.directory.onboarding import EmailTaken, ServiceClientUnbound
from gateway.schemas.onboarding import DirectoryUserRequest
from gateway.usecases.holds import require_service
from gateway.usecases.onboarding import add_person
from gateway.web.auth import Caller

SYNCED_FIELDS = ("name", "email", "role", "team", "active", "send_sms", "manage_credits")


async def put_user(
    pool: asyncpg.Pool, caller: Caller, external_id: str, request: DirectoryUserRequest, link_key: bytes
) -> Person:
    require_service(caller)
    async with pool.acquire() as conn, conn.transaction():
        # An internal system signs in as its client id, which is the service caller's name.
        tenant_id = await store.service_client_tenant(conn, caller.person.name)
        if tenant_id is None:
            raise ServiceClientUnbound(
                "This internal system is bound to no tenant, so it may sync no one's directory."
            )
        # Two PUTs of one person at once: the second waits, then finds the person the first created.
        await store.lock_key(conn, f"directory-sync:{tenant_id}:{external_id}")
        found = await _synced_person(conn, tenant_id, external_id, request.email)
        if found is None:
            person = Person(id=uuid.uuid4(), tenant_id=tenant_id, **_facts(request))
            await add_person(conn, person, link_key, invite=request.invite, external_id=external_id)
            await announce(conn, [], [person])
            return person
        return await _update(conn, found, request)


def _facts(request: DirectoryUserRequest) -> dict[str, Any]:
    return request.model_dump(include=set(SYNCED_FIELDS))


async def _update(conn: asyncpg.Connection, found: Person, request: DirectoryUserRequest) -> Person:
    """Change what differs, announced; nothing differing, nothing is written or announced."""
    changes = {name: value for name, value in _facts(request).items() if getattr(found, name) != value}
    if not changes:
        return found
    try:
        person, version = await store.update_person(conn, found.id, changes)
    except asyncpg.UniqueViolationError:  # the new email is someone else's (the transaction is undone)
        raise EmailTaken(f"{request.email} is already the email address of someone else.") from None
    await publish(conn, user_event(person, version))
    if changes.get("active") is False:
        # As when a master deactivates someone: their sessions end now, not when their tokens run out.
        await sessions.revoke_all_of(conn, person.id, "deactivated")
    return person


async def _synced_person(
    conn: asyncpg.Connection, tenant_id: uuid.UUID, external_id: str, email: str
) -> Person | None:
    """The person the CRM's id names; or, the first time the CRM names someone already in the tenant (a
    master an operator created, people from before the sync), that person by email, now linked to the id."""
    found = await store.person_by_external_id(conn, tenant_id, external_id)
    if found is not None:
        return found
    return await store.link_external_id(conn, tenant_id, email, external_id)
