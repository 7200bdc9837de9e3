"""The SQL behind the usage chart: the log's credits in (promotional apart) and out (expired apart), summed
per quarter hour."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from services.reporting.logs.domain import Selection
from services.reporting.usage.domain import Bucket

_NAMED_ACCOUNTS = "tenant_id = $1 AND account_id = ANY($2::uuid[])"
_WHOLE_TENANT = "tenant_id = $1 AND ($2::boolean OR account_code <> 'system')"

# Reservations (a hold placed, voided or expired) move no credits: a sent message counts once, as its
# capture. Quarter hours rather than days: the tenant's day boundaries are then drawn in Python with
# the same zone data as every other local time reporting shows, whether or not Postgres knows the zone.
_BUCKETS = """
SELECT to_timestamp(floor(extract(epoch FROM occurred_at) / 900) * 900) AS bucket,
       coalesce(sum(quantity) FILTER (WHERE direction = 'in'), 0)::bigint AS credits_in,
       coalesce(sum(quantity) FILTER (WHERE direction = 'out'), 0)::bigint AS credits_out,
       coalesce(sum(promotional) FILTER (WHERE direction = 'in'), 0)::bigint AS promotional_in,
       coalesce(sum(quantity) FILTER (WHERE direction = 'out' AND kind = 'lot_expiry'), 0)::bigint AS expired
FROM log_entries
WHERE {where} AND occurred_at >= $3 AND NOT reservation
GROUP BY 1
"""


async def quarter_hour_totals(conn: asyncpg.Connection, selected: Selection, since: datetime) -> list[Bucket]:
    where = _NAMED_ACCOUNTS if selected.scope == "accounts" else _WHOLE_TENANT
    scope_arg: Any = list(selected.account_ids) if selected.scope == "accounts" else selected.includes_system
    records = await conn.fetch(_BUCKETS.format(where=where), selected.tenant_id, scope_arg, since)
    return [Bucket(r["bucket"], r["credits_in"], r["credits_out"], r["promotional_in"], r["expired"]) for r in records]
