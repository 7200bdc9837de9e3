"""Destination pricing read and set, one transaction each."""

from __future__ import annotations

from collections.abc import Mapping

import asyncpg

from common.identity import Identity
from common.logs import get_logger
from services.messaging.pricing import domain, store

log = get_logger(__name__)


async def rates(pool: asyncpg.Pool) -> dict[str, int]:
    async with pool.acquire() as conn:
        return await store.rates(conn)


async def set_rates(pool: asyncpg.Pool, identity: Identity, table: Mapping[str, int]) -> dict[str, int]:
    identity.require_operator("Only platform operators set the destination rates.")
    checked = domain.check_rates(table)
    async with pool.acquire() as conn, conn.transaction():
        await store.replace_rates(conn, checked)
        log.info("destination_rates_set", regions=len(checked), default=checked["*"])
        return await store.rates(conn)
