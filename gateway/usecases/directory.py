"""Changes to the directory, each in one transaction with the events that tell the other services
(`gateway.directory.events`), and who a transfer or purchase may name."""

from __future__ import annotations

import uuid
from typing import Literal

import asyncpg

from common.contracts import events, problems
from common.contracts.events import CreditModeChanged, Event
from common.problems import Conflict, Forbidden, NotFound
from gateway.clients.ledger import LedgerClient
from gateway.directory import domain, sessions, store
from gateway.directory.domain import Person, Tenant
from gateway.directory.events import SOURCE, publish, tenant_event, user_event
from gateway.schemas.credits import UserView
from gateway.usecases.accounts import people, tenant_accounts
from gateway.usecases.identity import identity_for
from gateway.web.auth import Caller


class MastersOnly(Forbidden):
    problem = problems.MASTERS_ONLY


class OperatorsOnly(Forbidden):
    problem = problems.OPERATORS_ONLY


class OpenHoldsBlockSwitch(Conflict):
    problem = problems.OPEN_HOLDS


def require_operator(caller: Caller, detail: str) -> None:
    if caller.person.role != "operator":
        raise OperatorsOnly(detail)


async def eligible_people(pool: asyncpg.Pool, caller: Caller) -> list[UserView]:
    """The people of the caller's tenant a transfer or purchase may name: active senders, each with
    their account in individual mode, leaving out those whose account the caller may not give to."""
    accounts = await tenant_accounts(pool, caller)
    by_owner = {a.owner.id: a for a in accounts if a.owner}
    return [
        UserView(id=p.id, name=p.name, account_id=by_owner[p.id].id if p.id in by_owner else None)
        for p in await people(pool, caller)
        if p.active and p.send_sms and p.role in ("master", "user")
        and (p.id not in by_owner or domain.may_transfer_to(caller.person, by_owner[p.id]))
    ]


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
        if not person.active:
            # Signed out everywhere at once: their refresh tokens stop working with their access tokens.
            await sessions.revoke_all_of(conn, user_id, "deactivated")
        await publish(conn, user_event(person, version, actor=caller.person.id))
        return person


async def tenant_for_operator(pool: asyncpg.Pool, tenant_id: uuid.UUID) -> Tenant:
    """A tenant an operator names; one that does not exist is not found."""
    async with pool.acquire() as conn:
        tenant = await store.tenant(conn, tenant_id)
    if tenant is None:
        raise NotFound("No such tenant.")
    return tenant


async def set_tenant_policies(
    pool: asyncpg.Pool, caller: Caller, tenant_id: uuid.UUID, refund_undelivered: bool
) -> Tenant:
    """An operator sets a tenant's policy on undelivered messages; the ledger hears it as TenantChanged."""
    require_operator(caller, "Only platform operators change a tenant's policies.")
    async with pool.acquire() as conn, conn.transaction():
        current = await store.lock_tenant(conn, tenant_id)
        if current is None:
            raise NotFound("No such tenant.")
        if current.refund_undelivered == refund_undelivered:
            return current
        tenant, version = await store.set_refund_policy(conn, tenant_id, refund_undelivered)
        await publish(conn, tenant_event(tenant, version))
        return tenant


async def change_credit_mode(
    pool: asyncpg.Pool, ledger: LedgerClient, caller: Caller, tenant_id: uuid.UUID,
    mode: Literal["shared", "individual"],
) -> Tenant:
    """The operator's "client change request". The ledger sweeps or opens accounts from the event."""
    async with pool.acquire() as conn, conn.transaction():
        return await switch_credit_mode(conn, ledger, caller, tenant_id, mode)


async def switch_credit_mode(
    conn: asyncpg.Connection, ledger: LedgerClient, caller: Caller, tenant_id: uuid.UUID,
    mode: Literal["shared", "individual"],
) -> Tenant:
    """The switch inside the caller's transaction (an approved request writes its decision in the same one)."""
    require_operator(caller, "Only platform operators change a tenant's credit mode.")
    # Locked for the whole switch: two operators switching at once are applied one after the other.
    current = await store.lock_tenant(conn, tenant_id)
    if current is None:
        raise NotFound("No such tenant.")
    if current.credit_mode == mode:
        return current
    open_holds = await ledger.open_holds(identity_for(caller), tenant_id)
    if open_holds:
        raise OpenHoldsBlockSwitch(f"{open_holds} open hold(s) must be captured or voided first.")
    tenant, version = await store.set_credit_mode(conn, tenant_id, mode)
    people_of_tenant = await store.people_of(conn, tenant_id)
    await publish(conn, tenant_event(tenant, version))
    change = CreditModeChanged(tenant_id=tenant_id, mode=mode, previous_mode=current.credit_mode,
                               user_ids=[p.id for p in people_of_tenant if p.role in ("master", "user")],
                               actor_user_id=caller.person.id, version=version)
    await publish(conn, Event.new(type=events.CREDIT_MODE_CHANGED, source=SOURCE,
                                  subject=events.tenant_subject(tenant_id), data=change))
    return tenant
