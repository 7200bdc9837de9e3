"""A person's monthly credit limit: who may read and set it (the design's permission table, as
`common.permissions` has it), then the ledger, which keeps and enforces it and checks the role again."""

from __future__ import annotations

import uuid

import asyncpg

from common import permissions
from common.contracts.ledger import UserLimitRequest, UserLimitView
from common.problems import Forbidden, NotFound
from gateway.clients.ledger import LedgerClient
from gateway.directory import store
from gateway.directory.domain import Person
from gateway.usecases.identity import identity_for
from gateway.web.auth import Caller


class LimitForbidden(Forbidden):
    pass


def may_set_limit(caller: Person, person: Person) -> bool:
    """Masters, and users who manage credits for the people they manage (`may_manage`: everyone in the
    tenant); a plain user, not even their own."""
    if caller.is_master:
        return True
    actor = permissions.Actor(caller.id, caller.role, caller.team, caller.manage_credits)
    return caller.manage_credits and permissions.may_manage(actor, permissions.Owner(person.id, person.team))


def may_see_limit(caller: Person, person: Person) -> bool:
    return caller.id == person.id or may_set_limit(caller, person)


async def limit_of(pool: asyncpg.Pool, ledger: LedgerClient, caller: Caller, user_id: uuid.UUID) -> UserLimitView:
    person = await _tenants_person(pool, caller, user_id)
    if not may_see_limit(caller.person, person):
        raise LimitForbidden("Only the person, masters and users who manage credits see a spending limit.")
    return await ledger.user_limit(identity_for(caller), user_id)


async def set_limit(
    pool: asyncpg.Pool, ledger: LedgerClient, caller: Caller, user_id: uuid.UUID, wanted: UserLimitRequest
) -> UserLimitView:
    person = await _tenants_person(pool, caller, user_id)
    if not may_set_limit(caller.person, person):
        raise LimitForbidden("Only masters and users who manage credits set spending limits.")
    return await ledger.set_user_limit(identity_for(caller), user_id, wanted)


async def _tenants_person(pool: asyncpg.Pool, caller: Caller, user_id: uuid.UUID) -> Person:
    """The person, if they are one of the caller's tenant's people: another tenant's is not found (404)."""
    tenant = caller.require_tenant()
    async with pool.acquire() as conn:
        person = await store.person(conn, user_id)
    if person is None or person.tenant_id != tenant.id or person.role == "operator":
        raise NotFound("No such user.")
    return person
