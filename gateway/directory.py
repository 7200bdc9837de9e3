"""Changes to the directory, each in one transaction with the events that tell the other services.

The ledger keeps a copy of the facts its rules need (credit mode, teams, who may receive credits) and
moves credits when a change requires it, so every change here goes out as an event, never as a call
that could fail after the directory committed.
"""

from __future__ import annotations

import uuid
from typing import Literal

import asyncpg

from common import events, outbox
from common.events import CreditModeChanged, Event, TenantChanged, UserChanged
from common.problems import Conflict, Forbidden, NotFound
from gateway import store
from gateway.auth import Caller
from gateway.clients import ServiceClient
from gateway.domain import Person, Tenant
from gateway.usecases import identity_for

SOURCE = "gateway"


def tenant_event(tenant: Tenant, version: int) -> Event:
    payload = TenantChanged(tenant_id=tenant.id, name=tenant.name, credit_mode=tenant.credit_mode,
                            timezone=tenant.timezone, low_balance_threshold=tenant.low_balance_threshold,
                            version=version)
    return Event.new(type=events.TENANT_CHANGED, source=SOURCE, subject=str(tenant.id), data=payload)


def user_event(person: Person, version: int, actor: uuid.UUID | None = None) -> Event:
    assert person.tenant_id is not None and person.role in ("master", "user")
    payload = UserChanged(tenant_id=person.tenant_id, user_id=person.id, name=person.name, role=person.role,
                          team=person.team, active=person.active, send_sms=person.send_sms,
                          manage_credits=person.manage_credits, version=version, actor_user_id=actor)
    return Event.new(type=events.USER_CHANGED, source=SOURCE, subject=f"{person.tenant_id}/{person.id}",
                     data=payload)


async def announce(conn: asyncpg.Connection, tenants: list[Tenant], people: list[Person]) -> None:
    """Publish the current facts of these tenants and people (used when they are created)."""
    tenant_versions = await store.versions(conn, "tenants", [t.id for t in tenants])
    for tenant in tenants:
        await outbox.enqueue(conn, tenant_event(tenant, tenant_versions[tenant.id]))
    members = [p for p in people if p.role in ("master", "user")]
    user_versions = await store.versions(conn, "users", [p.id for p in members])
    for person in members:
        await outbox.enqueue(conn, user_event(person, user_versions[person.id]))


class MastersOnly(Forbidden):
    slug = "masters-only"


class OperatorsOnly(Forbidden):
    slug = "operators-only"


class OpenHoldsBlockSwitch(Conflict):
    slug = "open-holds"
    title = "Open holds block the switch"


async def update_user(pool: asyncpg.Pool, caller: Caller, user_id: uuid.UUID, changes: dict[str, object]) -> Person:
    """A master changes a person of their tenant; the ledger hears of it (and returns the person's
    credits to System Credits if they may no longer receive them, naming the master as actor)."""
    tenant = caller.require_tenant()
    async with pool.acquire() as conn, conn.transaction():
        target = await store.person(conn, user_id)
        if target is None or target.tenant_id != tenant.id:
            raise NotFound("No such user.")
        if not caller.person.is_master:
            raise MastersOnly("Only master users change users.")
        if not changes:
            return target
        person, version = await store.update_person(conn, user_id, changes)
        await outbox.enqueue(conn, user_event(person, version, actor=caller.person.id))
        return person


async def change_credit_mode(
    pool: asyncpg.Pool, ledger: ServiceClient, caller: Caller, tenant_id: uuid.UUID,
    mode: Literal["shared", "individual"],
) -> Tenant:
    """The operator's "client change request". The ledger sweeps or opens accounts from the event."""
    if caller.person.role != "operator":
        raise OperatorsOnly("Only platform operators change a tenant's credit mode.")
    async with pool.acquire() as conn, conn.transaction():
        # Locked for the whole switch: two operators switching at once are applied one after the other.
        current = await store.lock_tenant(conn, tenant_id)
        if current is None:
            raise NotFound("No such tenant.")
        if current.credit_mode == mode:
            return current
        holds = await ledger.call("GET", f"/tenants/{tenant_id}/open-holds", identity_for(caller))
        if holds["open_holds"]:
            raise OpenHoldsBlockSwitch(f"{holds['open_holds']} open hold(s) must be captured or voided first.")
        tenant, version = await store.set_credit_mode(conn, tenant_id, mode)
        people = await store.people_of(conn, tenant_id)
        await outbox.enqueue(conn, tenant_event(tenant, version))
        change = CreditModeChanged(tenant_id=tenant_id, mode=mode, previous_mode=current.credit_mode,
                                   user_ids=[p.id for p in people if p.role in ("master", "user")],
                                   actor_user_id=caller.person.id, version=version)
        await outbox.enqueue(conn, Event.new(type=events.CREDIT_MODE_CHANGED, source=SOURCE,
                                             subject=str(tenant_id), data=change))
        return tenant
