"""The directory's events: what the other services hear of tenants and people. Each change to the
directory (`gateway.usecases.directory`, `.onboarding`, `.directory_sync`) enqueues its event in the same
transaction.

The ledger keeps a copy of the facts its rules need (credit mode, teams, who may receive credits) and
moves credits when a change requires it, so every change here goes out as an event, never as a call
that could fail after the directory committed. The gateway's replicas hear the same events: each forgets
the callers a change concerns (`gateway.callers`), so every event leaves through `publish`.
"""

from __future__ import annotations

import uuid

import asyncpg

from common import outbox
from common.contracts import events
from common.contracts.events import Event, TenantChanged, UserChanged
from gateway.callers import announced
from gateway.directory import store
from gateway.directory.domain import Person, Tenant

SOURCE = events.source("gateway")


async def publish(conn: asyncpg.Connection, event: Event) -> None:
    """Into the outbox, in the change's transaction, for the services and the other replicas; and noted for
    this replica, which applies it to its own caller cache once the request is answered."""
    await outbox.enqueue(conn, event)
    announced.note(event)


def tenant_event(tenant: Tenant, version: int) -> Event:
    payload = TenantChanged(tenant_id=tenant.id, name=tenant.name, credit_mode=tenant.credit_mode,
                            timezone=tenant.timezone, low_balance_threshold=tenant.low_balance_threshold,
                            version=version, refund_undelivered=tenant.refund_undelivered)
    return Event.new(type=events.TENANT_CHANGED, source=SOURCE, subject=events.tenant_subject(tenant.id), data=payload)


def user_event(person: Person, version: int, actor: uuid.UUID | None = None) -> Event:
    assert person.tenant_id is not None and person.role in ("master", "user")
    payload = UserChanged(tenant_id=person.tenant_id, user_id=person.id, name=person.name, role=person.role,
                          team=person.team, active=person.active, send_sms=person.send_sms,
                          manage_credits=person.manage_credits, version=version, actor_user_id=actor)
    subject = events.subject_in(person.tenant_id, "users", person.id)
    return Event.new(type=events.USER_CHANGED, source=SOURCE, subject=subject, data=payload)


async def announce_everyone(conn: asyncpg.Connection) -> tuple[int, int]:
    """Publish every tenant's and person's current facts again, a tenant per transaction (`python -m gateway
    announce`): for a service whose copy of the directory is new or was rebuilt, and for billing to give
    tenants that existed before document prefixes a prefix from their names. Each event carries the
    version it describes, so a service that has it already changes nothing. Answers (tenants, people)."""
    tenants = people = 0
    for tenant_id in await store.tenant_ids(conn):
        async with conn.transaction():
            # A change made meanwhile needs no lock: it carries a newer version, which consumers keep.
            tenant = await store.tenant(conn, tenant_id)
            if tenant is None:
                continue
            members = [p for p in await store.people_of(conn, tenant_id) if p.role in ("master", "user")]
            await announce(conn, [tenant], members)
            tenants, people = tenants + 1, people + len(members)
    return tenants, people


async def announce(conn: asyncpg.Connection, tenants: list[Tenant], people: list[Person]) -> None:
    """Publish the current facts of these tenants and people (used when they are created)."""
    tenant_versions = await store.versions(conn, "tenants", [t.id for t in tenants])
    for tenant in tenants:
        await publish(conn, tenant_event(tenant, tenant_versions[tenant.id]))
    members = [p for p in people if p.role in ("master", "user")]
    user_versions = await store.versions(conn, "users", [p.id for p in members])
    for person in members:
        await publish(conn, user_event(person, user_versions[person.id]))


async def announce_sessions_ended(conn: asyncpg.Connection, person_id: uuid.UUID) -> None:
    """A session of this person ended (signed out, a device signed out, a reused refresh token, a new
    password): every gateway replica must stop accepting its access tokens, so it is announced in the same
    transaction. No event type tells of sessions yet, so the person's current facts are announced again, at
    their current version: every replica forgets the person's sessions on hearing it, and the services'
    copies, which keep only a newer version, change nothing (as after `announce`). Operators and internal
    systems are never remembered by the replicas, and UserChanged cannot name them: nothing to announce."""
    person = await store.person(conn, person_id)
    if person is None or person.tenant_id is None or person.role not in ("master", "user"):
        return
    version = (await store.versions(conn, "users", [person_id]))[person_id]
    await publish(conn, user_event(person, version))
