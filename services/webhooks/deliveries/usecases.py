"""Deliveries: made from each event received (with its inbox row, in one transaction), attempted by the
worker (never by a request handler), and replayed on a master's request.

At least once: a delivery is marked only after the receiver's 2xx, so a crash between the two sends it
again with the same `webhook-id`, which the receiver de-duplicates by. In order per endpoint: only the
earliest pending delivery of an endpoint is attempted (`store.claim_due`)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from common import mail
from common.contracts.events import Event
from common.contracts.queues import WEBHOOKS_EVENTS
from common.contracts.webhooks import Delivery, DeliveryPage, Replayed
from common.identity import Identity
from common.inbox import first_deliveries
from common.keyset import Cursor, decode_cursor, next_cursor
from common.logs import get_logger
from services.webhooks.deliveries import domain, sender, store
from services.webhooks.deliveries.domain import DeliveryNotFound
from services.webhooks.endpoints import store as endpoint_store
from services.webhooks.endpoints.domain import WebhookNotFound, require_master
from services.webhooks.settings import WebhooksSettings

log = get_logger(__name__)

DISABLED_EMAIL = "endpoint_disabled"
# A claimed delivery is held this much longer than one attempt may take: past it, its worker is taken
# for dead and the delivery is attempted again.
LEASE_MARGIN_SECONDS = 30.0


@dataclass(frozen=True)
class Arrived:
    """An event off the queue, with the tenant whose endpoints it goes to."""

    event: Event
    tenant_id: uuid.UUID


async def record_events(pool: asyncpg.Pool, batch: Sequence[Arrived]) -> int:
    """For each event, in the order given, a delivery for each enabled endpoint of its tenant that wants
    its type; answers how many. The inbox rows are written in the same transaction: an event the bus
    delivers again makes none."""
    made = 0
    async with pool.acquire() as conn, conn.transaction():
        fresh = await first_deliveries(conn, WEBHOOKS_EVENTS.name, [a.event.id for a in batch])
        for arrived in batch:
            event = arrived.event
            if event.id not in fresh:
                continue
            fresh.discard(event.id)  # the same event twice in one batch
            endpoint_ids = await store.endpoints_wanting(conn, arrived.tenant_id, event.type)
            if endpoint_ids:
                await store.insert_event(conn, event.id, arrived.tenant_id, event.type, event.to_json().decode())
                await store.insert_deliveries(conn, event.id, endpoint_ids)
                made += len(endpoint_ids)
    return made


async def deliver_due(pool: asyncpg.Pool, settings: WebhooksSettings) -> int:
    """Attempt what is due, a batch at a time (one per endpoint, all at once), until nothing is; answers
    how many attempts were made."""
    attempted = 0
    lease = settings.timeout_seconds + LEASE_MARGIN_SECONDS
    while True:
        async with pool.acquire() as conn:
            claimed = await store.claim_due(conn, settings.batch_size, lease)
        if not claimed:
            return attempted
        await asyncio.gather(*(_attempt(pool, row, settings) for row in claimed))
        attempted += len(claimed)


async def _attempt(pool: asyncpg.Pool, row: asyncpg.Record, settings: WebhooksSettings) -> None:
    body = row["body"].encode()
    secrets = [row["secret"], *([row["previous_secret"]] if row["previous_secret"] else [])]
    headers = domain.webhook_headers(secrets, str(row["event_id"]), int(time.time()), body)
    outcome = await sender.post(row["url"], body, headers, allow_private=settings.allow_private,
                                time_limit=settings.timeout_seconds)
    await record_outcome(pool, row, outcome, settings.retry_scale)


async def record_outcome(pool: asyncpg.Pool, row: asyncpg.Record, outcome: sender.Outcome, scale: float) -> None:
    """The attempt, and what follows: delivered; due again after the back-off; or, the schedule spent,
    failed, with its endpoint disabled and its creator owed an email (one transaction)."""
    delivery_id = row["id"]
    async with pool.acquire() as conn, conn.transaction():
        if outcome.delivered:
            assert outcome.status_code is not None
            recorded = await store.mark_delivered(conn, delivery_id, outcome.status_code)
        elif (delay := domain.retry_delay(row["round_attempts"] + 1, scale)) is not None:
            recorded = await store.schedule_retry(conn, delivery_id, delay, outcome.status_code, outcome.error)
        else:
            recorded = await store.mark_failed(conn, delivery_id, outcome.status_code, outcome.error)
            if recorded:
                await _disable(conn, row, outcome)
        if recorded:  # not when the endpoint was deleted meanwhile (its deliveries went with it)
            await store.record_attempt(conn, delivery_id, outcome.status_code, outcome.error, outcome.duration_ms)
    log.info("webhook_attempt", delivery_id=str(delivery_id), endpoint_id=str(row["endpoint_id"]),
             status_code=outcome.status_code, error=outcome.error, duration_ms=outcome.duration_ms)


async def _disable(conn: asyncpg.Connection, row: asyncpg.Record, outcome: sender.Outcome) -> None:
    reason = f"a delivery failed for {domain.MAX_ATTEMPTS} attempts over about three days ({outcome.error})"
    disabled = await store.disable_endpoint(conn, row["endpoint_id"], reason[:500])
    if disabled is not None:
        await mail.owe(conn, DISABLED_EMAIL, row["id"], disabled["creator_email"], disabled["tenant_id"])
        log.warning("webhook_endpoint_disabled", endpoint_id=str(row["endpoint_id"]), delivery_id=str(row["id"]))


def _delivery(row: asyncpg.Record) -> Delivery:
    return Delivery(**{key: row[key] for key in Delivery.model_fields})


async def _own_endpoint(conn: asyncpg.Connection, identity: Identity, endpoint_id: uuid.UUID) -> None:
    if await endpoint_store.one(conn, require_master(identity), endpoint_id) is None:
        raise WebhookNotFound()


async def log_page(pool: asyncpg.Pool, identity: Identity, endpoint_id: uuid.UUID, cursor: str | None,
                   limit: int) -> DeliveryPage:
    after = decode_cursor(cursor)
    async with pool.acquire() as conn:
        await _own_endpoint(conn, identity, endpoint_id)
        rows = await store.page(conn, endpoint_id, after, limit)
    items = [_delivery(row) for row in rows[:limit]]
    last = Cursor(items[-1].created_at, items[-1].id) if items else None
    return DeliveryPage(items=items, next_cursor=next_cursor(len(rows), limit, last))


async def replay_one(pool: asyncpg.Pool, identity: Identity, endpoint_id: uuid.UUID,
                     delivery_id: uuid.UUID) -> Delivery:
    """Send it again (same `webhook-id`): behind what is pending for the endpoint, with a fresh schedule;
    one still pending is only made due now."""
    async with pool.acquire() as conn, conn.transaction():
        await _own_endpoint(conn, identity, endpoint_id)
        found = await store.delivery(conn, endpoint_id, delivery_id)
        if found is None:
            raise DeliveryNotFound()
        if found["status"] == "pending":
            await store.hurry(conn, delivery_id)
        else:
            await store.requeue(conn, [delivery_id])
        replayed = await store.delivery(conn, endpoint_id, delivery_id)
    assert replayed is not None
    return _delivery(replayed)


async def replay_since(pool: asyncpg.Pool, identity: Identity, endpoint_id: uuid.UUID, since: datetime) -> Replayed:
    """Everything delivered or failed that was made since then, sent again in its original order."""
    async with pool.acquire() as conn, conn.transaction():
        await _own_endpoint(conn, identity, endpoint_id)
        ids = await store.finished_since(conn, endpoint_id, domain.replay_from(since))
        await store.requeue(conn, ids)
    return Replayed(replayed=len(ids))
