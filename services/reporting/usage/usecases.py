"""Reading the usage chart's figures: the log summed per day, in the tenant's days."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from services.reporting.directory.domain import Directory
from services.reporting.directory.usecases import directory_of
from services.reporting.logs.domain import Selection
from services.reporting.reads import LogReads
from services.reporting.usage import domain, store


async def usage_of(
    reads: LogReads, selected: Selection, days: int, now: datetime
) -> tuple[Directory, list[domain.DailyUsage]]:
    async with reads.connection() as conn:
        directory = await directory_of(conn, selected.tenant_id)
        return directory, await daily_usage(conn, directory, selected, days, now)


async def daily_usage(
    conn: asyncpg.Connection, directory: Directory, selected: Selection, days: int, now: datetime
) -> list[domain.DailyUsage]:
    """For a caller already holding a connection (the printed report, inside its snapshot)."""
    wanted = domain.period(now, directory.zone, days)
    buckets = await store.quarter_hour_totals(conn, selected, wanted.since)
    return domain.daily_usage(buckets, directory.zone, wanted)
