"""Catch-up: a tenant's ledger events read again in sequence order, for a subscriber that missed some on the
bus (down longer than its queue keeps them) or that starts today.

Who may read whose: an internal system (service token) names the tenant, since it belongs to none; one
bound to a tenant (the CRM's directory sync) reads only that tenant's. A tenant's master reads their own
tenant's. Any other tenant's events do not exist for the caller (404, as for every other thing of another
tenant's), and a tenant's other people may not read the stream at all (403).
"""

from __future__ import annotations

import uuid

import asyncpg

from common.contracts import problems
from common.contracts.ledger import EventPage as LedgerEventPage
from common.problems import NotFound, RuleBroken
from gateway.clients.ledger import LedgerClient
from gateway.directory import store
from gateway.schemas.events import CloudEvent, EventPage, EventsQuery
from gateway.usecases.directory import MastersOnly
from gateway.usecases.identity import identity_for
from gateway.web.auth import Caller


class TenantRequired(RuleBroken):
    """An internal system asked without naming the tenant: it has none of its own to fall back on."""

    problem = problems.TENANT_REQUIRED


def _no_such_tenant() -> NotFound:
    return NotFound("No such tenant.")


async def tenant_to_read(pool: asyncpg.Pool, caller: Caller, named: uuid.UUID | None) -> uuid.UUID | None:
    """The tenant whose events the caller reads, checked; None for a master's own (the ledger takes the
    tenant from the identity, never from the request)."""
    role = caller.person.role
    if role == "service":
        async with pool.acquire() as conn:
            bound = await store.service_client_tenant(conn, caller.person.name)
            wanted = named or bound
            if wanted is None:
                raise TenantRequired("An internal system belongs to no tenant: name the tenant in `tenant_id`.")
            if (bound is not None and wanted != bound) or await store.tenant(conn, wanted) is None:
                raise _no_such_tenant()
        return wanted
    if role == "master" and caller.tenant is not None:
        if named not in (None, caller.tenant.id):
            raise _no_such_tenant()
        return None
    raise MastersOnly("The event stream is for internal systems (service token) and a tenant's masters.")


async def events_after(pool: asyncpg.Pool, ledger: LedgerClient, caller: Caller, query: EventsQuery) -> EventPage:
    tenant_id = await tenant_to_read(pool, caller, query.tenant_id)
    page = await ledger.events_after(identity_for(caller), tenant_id, query.after_sequence, query.limit)
    return public_page(page)


def public_page(page: LedgerEventPage) -> EventPage:
    # Each envelope as published: the CloudEvent model documents it and lets unknown attributes through.
    return EventPage(events=[CloudEvent.model_validate(envelope) for envelope in page.events],
                     next_after_sequence=page.next_after_sequence, last_sequence=page.last_sequence)
