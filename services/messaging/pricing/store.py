"""Destination pricing's SQL."""

from __future__ import annotations

from collections.abc import Mapping

import asyncpg


async def rates(conn: asyncpg.Connection) -> dict[str, int]:
    rows = await conn.fetch("SELECT region, credits_per_segment FROM destination_rates")
    return {r["region"]: r["credits_per_segment"] for r in rows}


async def replace_rates(conn: asyncpg.Connection, table: Mapping[str, int]) -> None:
    """The table as given, and nothing else: countries it leaves out fall back to the default."""
    await conn.execute("DELETE FROM destination_rates WHERE NOT (region = ANY($1::text[]))", list(table))
    await conn.execute(
        """INSERT INTO destination_rates (region, credits_per_segment)
           SELECT * FROM unnest($1::text[], $2::int[])
           ON CONFLICT (region) DO UPDATE SET credits_per_segment = EXCLUDED.credits_per_segment, updated_at = now()
           WHERE destination_rates.credits_per_segment <> EXCLUDED.credits_per_segment""",
        list(table), list(table.values()),
    )
