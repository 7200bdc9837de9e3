"""The SQL behind the usage chart: the log's credits in and out, summed per quarter hour."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from services.reporting.logs.domain import Selection

_NAMED_ACCOUNTS = "tenant_id = $1 AND account_id = ANY($2::uuid[])"
_WHOLE_TENANT = "tenant_id = $1 AND ($2::boolean OR account_code <> 'system')"

# Reservations (a hold placed, voided or expired) move no credits: a sent message counts once, as its
# capture. Quarter hours rather than days: the tenant's day boundaries are then drawn in Python with
# the same zone data as every other local time reporting shows, whether or not Postgres knows the zone.
_BUCKETS = """
SELECT to_timestamp(floor(extract(epoch FROM occurred_at) / 900) * 900) AS bucket,
       coalesce(sum(quantity) FILTER (WHERE direction = 'in'), 0)::bigint AS credits_in,
       coalesce(sum(quantity) FILTER (WHERE direction = 'out'), 0)::bigint AS credits_out
FROM log_entries
WHERE {where} AND occurred_at >= $3 AND NOT reservation
GROUP BY 1
"""


async def quarter_hour_totals(
    conn: asyncpg.Connection, selected: Selection, since: datetime
) -> list[tuple[datetime, int, int]]:
    where = _NAMED_ACCOUNTS if selected.scope == "accounts" else _WHOLE_TENANT
    scope_arg: Any = list(selected.account_ids) if selected.scope == "accounts" else selected.includes_system
    records = await conn.fetch(_BUCKETS.format(where=where), selected.tenant_id, scope_arg, since)
    return [(r["bucket"], r["credits_in"], r["credits_out"]) for r in records]
