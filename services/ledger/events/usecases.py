"""Reading the event log."""

from __future__ import annotations

import uuid

import asyncpg

from common.contracts.events import schema_url
from common.contracts.ledger import EventPage
from services.ledger.events import store


async def read(pool: asyncpg.Pool, tenant_id: uuid.UUID, after: int, limit: int) -> EventPage:
    # One snapshot for the page and the stream's end, so `last_sequence` is never behind the page.
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        envelopes = await store.page(conn, tenant_id, after, limit)
        last = await store.last_sequence(conn, tenant_id)
    for envelope in envelopes:
        # Transactions posted before the log existed were logged by a migration, which cannot know this
        # installation's address: they point at their schema from here.
        envelope.setdefault("dataschema", schema_url(envelope["type"]))
    reached = int(envelopes[-1]["sequence"]) if envelopes else after
    return EventPage(events=envelopes, last_sequence=last,
                     next_after_sequence=reached if len(envelopes) == limit and reached < last else None)
