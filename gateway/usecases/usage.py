"""Credits in and out per day for the accounts a caller manages: the same accounts as the log's, decided
here; reporting sums them from its read model in the tenant's days."""

from __future__ import annotations

import asyncpg

from common.problems import NotFound
from gateway.clients.reporting import ReportingClient
from gateway.schemas.usage import Usage, UsageQuery
from gateway.usecases.identity import identity_for
from gateway.usecases.logs import log_scope
from gateway.web.auth import Caller


async def _params(pool: asyncpg.Pool, caller: Caller, query: UsageQuery) -> list[tuple[str, str]]:
    scope = await log_scope(pool, caller, query.account)
    if not scope:
        raise NotFound("You manage no account, so there is no usage to show.")
    return [*scope, ("days", str(query.days))]


async def usage(pool: asyncpg.Pool, reporting: ReportingClient, caller: Caller, query: UsageQuery) -> Usage:
    return await reporting.usage(identity_for(caller), await _params(pool, caller, query))


async def usage_svg(pool: asyncpg.Pool, reporting: ReportingClient, caller: Caller, query: UsageQuery) -> bytes:
    return await reporting.usage_svg(identity_for(caller), await _params(pool, caller, query))
