"""The last 30 days' log of the accounts a caller manages. Reporting answers from its read model in
account ids, account codes and user ids; the gateway decides whose log the caller may read, and puts
people's names on what it shows."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Literal

import aiohttp
import asyncpg

from common.accounts import SYSTEM, SYSTEM_CREDITS, account_id, counterparty_label, user_code
from common.contracts.reporting import LogPage as ReportedPage
from common.problems import NotFound
from gateway.clients.reporting import ReportingClient
from gateway.directory import domain, store
from gateway.directory.domain import Person
from gateway.schemas.credits import LogEntry, LogPage, LogQuery
from gateway.usecases.accounts import named
from gateway.usecases.identity import identity_for
from gateway.web.auth import Caller


async def read_log(pool: asyncpg.Pool, reporting: ReportingClient, caller: Caller, query: LogQuery) -> LogPage:
    """One page of the log, named; empty for a caller who manages no account."""
    params = await reporting_query(pool, caller, query)
    if params is None:
        return LogPage(entries=[], next_cursor=None)
    page = await reporting.log_page(identity_for(caller), params)
    return await named_log_page(pool, caller.require_tenant(), page)


@contextlib.asynccontextmanager
async def export(
    pool: asyncpg.Pool, reporting: ReportingClient, caller: Caller, query: LogQuery, kind: Literal["csv", "report"]
) -> AsyncIterator[aiohttp.ClientResponse]:
    """Reporting's CSV or report of the log, as it streams it (a million rows never sit in memory)."""
    params = await reporting_query(pool, caller, query)
    if params is None:
        raise NotFound("You manage no account, so there is no log to show.")
    identity = identity_for(caller)
    opened = reporting.log_csv(identity, params) if kind == "csv" else reporting.log_report(identity, params)
    async with opened as upstream:
        yield upstream


async def reporting_query(pool: asyncpg.Pool, caller: Caller, query: LogQuery) -> list[tuple[str, str]] | None:
    """Reporting's query for this caller, or None when they manage no account at all (a user of a
    tenant in shared mode)."""
    scope = await log_scope(pool, caller, query.account)
    if not scope:
        return None
    return scope + [(k, str(v)) for k, v in query.model_dump(exclude={"account"}, exclude_none=True).items()]


async def log_scope(pool: asyncpg.Pool, caller: Caller, wanted: list[uuid.UUID] | None) -> list[tuple[str, str]]:
    """The query that tells reporting whose log to read: the accounts named (each must be one the
    caller may view, else it is answered as if it did not exist), or everything the caller may view,
    named by scope so a large tenant's hundreds of accounts never go into a URL. Empty when the caller
    views no account at all (a user of a tenant in shared mode)."""
    tenant = caller.require_tenant()
    person = caller.person
    if wanted:
        found = await named(pool, tenant, wanted)
        missing = [w for w in wanted if w not in found or not domain.may_manage(person, found[w])]
        if missing:
            raise domain.AccountNotFound(f"No such account: {missing[0]}.")
        return [("account", str(w)) for w in dict.fromkeys(wanted)]
    if person.is_master:
        return [("scope", "tenant")]
    if tenant.credit_mode == "shared":
        return []  # System Credits are the masters'; nobody holds User Credits in shared mode
    if person.manage_credits:
        return [("scope", "users")]
    return [("account", str(account_id(tenant.id, user_code(person.id))))]


async def named_log_page(pool: asyncpg.Pool, tenant: domain.Tenant, page: ReportedPage) -> LogPage:
    """Reporting speaks in account ids, account codes and user ids; people read names. Only the people
    on this page are looked up."""
    account_ids = {e.account_id for e in page.entries}
    user_ids = {owner for e in page.entries if (owner := _user_of_code(e.counterparty))}
    user_ids |= {actor for e in page.entries if (actor := _uuid_or_none(e.actor))}
    async with pool.acquire() as conn:
        people = await store.people_named(conn, tenant.id, list(user_ids), list(account_ids))
    return log_page(page, tenant, people)


def _user_of_code(code: str | None) -> uuid.UUID | None:
    return _uuid_or_none(code.removeprefix("user:")) if code and code.startswith("user:") else None


def _uuid_or_none(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None  # an internal system's client id, not a person


def log_page(page: ReportedPage, tenant: domain.Tenant, people: list[tuple[Person, uuid.UUID]]) -> LogPage:
    names = {user_code(p.id): p.name for p, _ in people}
    ids = {str(account_id(tenant.id, SYSTEM)): SYSTEM_CREDITS} | {str(acc): p.name for p, acc in people}
    people_names = {str(p.id): p.name for p, _ in people}
    entries = [
        LogEntry(
            **{
                **entry.model_dump(),
                "account": ids.get(str(entry.account_id), "Unknown account"),
                "counterparty": counterparty_label(entry.counterparty, entry.kind, names),
                "actor": people_names.get(entry.actor or "", entry.actor),
            }
        )
        for entry in page.entries
    ]
    return LogPage(entries=entries, next_cursor=page.next_cursor, stale=page.stale)
