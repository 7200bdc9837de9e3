"""Onboarding: an operator creates a tenant and its first master, a master adds people, the CRM keeps its
people in step (`directory_sync`), and each person sets their password from an emailed link.

Each change is one transaction holding the directory rows, the events that tell the other services
(`gateway.directory.events`: the ledger opens accounts from them, reporting learns names) and the email
it owes (`common.mail`): all of it happens, or none.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg

from common import mail
from common.contracts import problems
from common.idempotency import request_fingerprint
from common.problems import Conflict
from gateway.directory import sessions, store
from gateway.directory.domain import Person, Tenant
from gateway.directory.emails import KIND_OF
from gateway.directory.events import announce, announce_sessions_ended
from gateway.directory.onboarding import (
    EmailTaken,
    LinkPurpose,
    PasswordLink,
    link_expiry,
    link_token,
    require_usable,
    token_hash,
)
from gateway.schemas.onboarding import NewTenantRequest, NewUserRequest
from gateway.usecases.directory import MastersOnly, require_operator
from gateway.web.auth import Caller, hash_password


class IdempotencyKeyReused(Conflict):
    problem = problems.IDEMPOTENCY_KEY_REUSED


async def create_tenant(
    pool: asyncpg.Pool, caller: Caller, request: NewTenantRequest, idempotency_key: str, link_key: bytes
) -> tuple[Tenant, Person]:
    """A tenant and its first master, invited by email. The same Idempotency-Key and body again answer
    the same tenant and master (created once); the same key with another body is refused."""
    require_operator(caller, "Only platform operators create tenants.")
    operator = caller.person.id
    fingerprint = request_fingerprint(request.model_dump(mode="json"))
    async with pool.acquire() as conn, conn.transaction():
        # Two requests with one key at once: the second waits here, then finds the first's tenant.
        await store.lock_key(conn, f"tenant-creation:{operator}:{idempotency_key}")
        done = await store.tenant_creation(conn, operator, idempotency_key)
        if done is not None:
            if done["fingerprint"] != fingerprint:
                raise IdempotencyKeyReused("This Idempotency-Key was used for a different tenant.")
            return await _created(conn, done["tenant_id"], done["master_id"])
        tenant = Tenant(id=uuid.uuid4(), name=request.name, legal_name=request.legal_name, abn=request.abn,
                        credit_mode=request.credit_mode, timezone=request.timezone)
        await store.insert_tenant(conn, tenant)
        master = Person(id=uuid.uuid4(), tenant_id=tenant.id, email=request.master.email,
                        name=request.master.name, role="master", team=None, active=True, send_sms=True,
                        manage_credits=False)
        await add_person(conn, master, link_key, invite=True)
        await announce(conn, [tenant], [master])
        await store.record_tenant_creation(conn, operator, idempotency_key, fingerprint, tenant.id, master.id)
        return tenant, master


async def _created(conn: asyncpg.Connection, tenant_id: uuid.UUID, master_id: uuid.UUID) -> tuple[Tenant, Person]:
    tenant, master = await store.tenant(conn, tenant_id), await store.person(conn, master_id)
    assert tenant is not None and master is not None  # rows a creation names are never deleted
    return tenant, master


async def add_user(pool: asyncpg.Pool, caller: Caller, request: NewUserRequest, link_key: bytes) -> Person:
    """A master adds a person to their own tenant (no other is reachable), invited by email."""
    tenant = caller.require_tenant()
    if not caller.person.is_master:
        raise MastersOnly("Only master users add users.")
    person = Person(id=uuid.uuid4(), tenant_id=tenant.id, email=request.email, name=request.name,
                    role=request.role, team=request.team, active=True, send_sms=request.send_sms,
                    manage_credits=request.manage_credits)
    async with pool.acquire() as conn, conn.transaction():
        await add_person(conn, person, link_key, invite=True)
        await announce(conn, [], [person])
    return person


async def add_person(
    conn: asyncpg.Connection, person: Person, link_key: bytes, invite: bool, external_id: str | None = None
) -> None:
    """A new person with no password, and with `invite` an emailed link to set one."""
    if not await store.insert_person(conn, person, None, external_id):
        raise EmailTaken(f"{person.email} is already the email address of someone.")
    if invite:
        await owe_link(conn, person, "invitation", link_key)


async def owe_link(conn: asyncpg.Connection, person: Person, purpose: LinkPurpose, link_key: bytes) -> None:
    """A password link for the person, and the email that carries it."""
    link = PasswordLink(id=uuid.uuid4(), user_id=person.id, purpose=purpose,
                        expires_at=link_expiry(purpose, datetime.now(UTC)), used_at=None)
    await store.add_password_link(conn, link, token_hash(link_token(link_key, link.id)))
    await mail.owe(conn, KIND_OF[purpose], link.id, person.email, tenant_id=person.tenant_id)


async def request_password_reset(pool: asyncpg.Pool, email: str, link_key: bytes) -> None:
    """Email a reset link if the address is an active person's; otherwise do nothing, and say nothing
    of it: the answer is the same either way."""
    async with pool.acquire() as conn, conn.transaction():
        person = await store.person_by_email(conn, email)
        if person is not None and person.active and person.role != "service":
            await owe_link(conn, person, "reset", link_key)


async def person_of_link(pool: asyncpg.Pool, token: str) -> Person:
    """Whose a usable link is (the page greets them); an unusable one is refused as it would be when used."""
    async with pool.acquire() as conn:
        found = await store.password_link_by_hash(conn, token_hash(token))
    require_usable(found[0] if found else None, found[1].active if found else False, datetime.now(UTC))
    assert found is not None
    return found[1]


async def set_password(pool: asyncpg.Pool, token: str, password: str) -> Person:
    """Set the password a link is for, once: the link and every other open link of the person are used up,
    and every session of theirs ends (whoever reset a password may be locking someone else out)."""
    # Hashed before the transaction: argon2 takes a while, and no row should stay locked meanwhile.
    password_hash = await asyncio.to_thread(hash_password, password)
    async with pool.acquire() as conn, conn.transaction():
        found = await store.password_link_by_hash(conn, token_hash(token), lock=True)
        link = require_usable(found[0] if found else None, found[1].active if found else False, datetime.now(UTC))
        await store.set_password(conn, link.user_id, password_hash)
        if await sessions.revoke_all_of(conn, link.user_id, "password-set"):
            await announce_sessions_ended(conn, link.user_id)  # every replica stops accepting them
    assert found is not None
    return found[1]
