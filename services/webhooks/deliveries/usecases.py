"""Deliveries: made from each event received (with its inbox row, in one transaction), attempted by the
worker (never by a request handler), and replayed on a master's request.

At least once: a delivery is marked only after the receiver's 2xx, so a crash between the two sends it
again with the same `webhook-id`, which the receiver de-duplicates by. In order per endpoint: only the
earliest pending delivery of an endpoint is attempted (`store.claim_due`).

Locks: a transaction that writes an endpoint's deliveries locks the endpoint's row first (and several
endpoints in id order), as a DELETE of the endpoint does before its cascade reaches the deliveries."""

from __future__ import annotations

import asyncio
import time
import traceback
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg
from prometheus_client import Counter

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
ATTEMPTS = Counter("webhook_delivery_attempts_total",
                   "Attempts to deliver a webhook, by what followed: delivered, retry (due again after the back-off), "
                   "failed (the schedule spent: the endpoint is disabled)", ["outcome"])
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
        # A delivery's position is drawn when it is inserted, not when it commits. So the endpoints that get
        # deliveries are locked first, and another transaction making deliveries for one of them (a second
        # process, as during a consumer handover) waits until this one commits before drawing its own:
        # an endpoint's positions become visible in their order, and a later one is never sent first.
        endpoints = await store.lock_endpoints_wanting(
            conn, {a.tenant_id for a in batch}, {a.event.type for a in batch}
        )
        wanted = {
            a.event.id: [e["id"] for e in endpoints
                         if e["tenant_id"] == a.tenant_id and a.event.type in e["event_types"]]
            for a in batch
        }
        # Only events some endpoint wants leave an inbox row: one that none wants has no effect to repeat, and
        # most events (every transfer of a tenant without webhooks) cost no write at all.
        awaited = [event_id for event_id, endpoint_ids in wanted.items() if endpoint_ids]
        if not awaited:
            return 0
        fresh = await first_deliveries(conn, WEBHOOKS_EVENTS.name, awaited)
        for arrived in batch:
            event = arrived.event
            if event.id not in fresh:
                continue
            fresh.discard(event.id)  # the same event twice in one batch
            await store.insert_event(conn, event.id, arrived.tenant_id, event.type, event.to_json().decode())
            await store.insert_deliveries(conn, event.id, wanted[event.id])
            made += len(wanted[event.id])
    return made


async def deliver_due(pool: asyncpg.Pool, settings: WebhooksSettings) -> int:
    """Attempt what is due until nothing is due or in flight; answers how many attempts were made.

    Up to `batch_size` attempts are in flight at once, each to a different endpoint (a claim takes only an
    endpoint's earliest pending delivery, and its lease holds back the ones behind it). Each is recorded as
    soon as it ends, and claiming goes on meanwhile: a receiver that takes its whole time limit to answer
    holds up its own deliveries only, not every other endpoint's (as waiting for a whole batch would)."""
    lease = settings.timeout_seconds + LEASE_MARGIN_SECONDS
    in_flight: set[asyncio.Task[None]] = set()
    attempted = 0
    try:
        while True:
            room = settings.batch_size - len(in_flight)
            if room > 0:
                async with pool.acquire() as conn:
                    claimed = await store.claim_due(conn, room, lease)
                in_flight.update(asyncio.create_task(_attempt(pool, row, settings)) for row in claimed)
                attempted += len(claimed)
            if not in_flight:
                return attempted
            # Until an attempt ends (its endpoint's next delivery may be due at once) or the poll interval
            # passes (another endpoint's may have arrived meanwhile).
            done, _ = await asyncio.wait(in_flight, timeout=settings.poll_seconds,
                                         return_when=asyncio.FIRST_COMPLETED)
            in_flight -= done
    except asyncio.CancelledError:  # the service stopping: the leases run out and they are attempted again
        for task in in_flight:
            task.cancel()
        raise
    finally:
        if in_flight:  # a claim failed (the database): what is in flight ends, and is recorded if it can be
            await asyncio.wait(in_flight)


async def _attempt(pool: asyncpg.Pool, row: asyncpg.Record, settings: WebhooksSettings) -> None:
    """One attempt, recorded. It never raises: whatever goes wrong in it (a bug, a URL some library
    chokes on) is a failed attempt of this delivery, never the end of the others in flight, nor a delivery
    left unrecorded that is claimed again and again."""
    started = time.monotonic()
    try:
        body = row["body"].encode()
        secrets = [row["secret"], *([row["previous_secret"]] if row["previous_secret"] else [])]
        headers = domain.webhook_headers(secrets, str(row["event_id"]), int(time.time()), body)
        outcome = await sender.post(row["url"], body, headers, allow_private=settings.allow_private,
                                    time_limit=settings.timeout_seconds)
    except Exception as exc:
        outcome = sender.Outcome(None, sender.failure("attempt failed", exc, row["url"]),
                                 int((time.monotonic() - started) * 1000))
        # The stack without the exception's message, which may quote the URL (see `sender.failure`).
        log.error("webhook_attempt_crashed", delivery_id=str(row["id"]), error=outcome.error,
                  stack="".join(traceback.format_tb(exc.__traceback__)))
    try:
        await record_outcome(pool, row, outcome, settings.retry_scale)
    except Exception as exc:  # most likely the database: the lease runs out and it is attempted again
        log.warning("webhook_attempt_not_recorded", delivery_id=str(row["id"]),
                    error=sender.failure("recording failed", exc, row["url"]))


async def record_outcome(pool: asyncpg.Pool, row: asyncpg.Record, outcome: sender.Outcome, scale: float) -> None:
    """The attempt, and what follows: delivered; due again after the back-off; or, the schedule spent,
    failed, with its endpoint disabled and its creator owed an email (one transaction)."""
    async with pool.acquire() as conn, conn.transaction():
        # The endpoint's row before the delivery's, as every transaction that writes both takes them: a
        # DELETE of the endpoint locks its row, then its deliveries (the cascade). Delivery first, then the
        # endpoint (to disable it), could deadlock with that.
        if await store.lock_endpoint(conn, row["endpoint_id"]):  # not when it was deleted meanwhile
            await _record(conn, row, outcome, scale)
    log.info("webhook_attempt", delivery_id=str(row["id"]), endpoint_id=str(row["endpoint_id"]),
             status_code=outcome.status_code, error=outcome.error, duration_ms=outcome.duration_ms)


async def _record(conn: asyncpg.Connection, row: asyncpg.Record, outcome: sender.Outcome, scale: float) -> None:
    delivery_id = row["id"]
    if outcome.delivered:
        assert outcome.status_code is not None
        followed = "delivered"
        recorded = await store.mark_delivered(conn, delivery_id, outcome.status_code)
    elif (delay := domain.retry_delay(row["round_attempts"] + 1, scale)) is not None:
        followed = "retry"
        recorded = await store.schedule_retry(conn, delivery_id, delay, outcome.status_code, outcome.error)
    else:
        followed = "failed"
        recorded = await store.mark_failed(conn, delivery_id, outcome.status_code, outcome.error)
        if recorded:
            await _disable(conn, row, outcome)
    if recorded:
        await store.record_attempt(conn, delivery_id, outcome.status_code, outcome.error, outcome.duration_ms)
        ATTEMPTS.labels(followed).inc()  # counted before the commit: a rare double count, never a lost failure


async def _disable(conn: asyncpg.Connection, row: asyncpg.Record, outcome: sender.Outcome) -> None:
    """Disable the endpoint and owe its creator an email about this disabling. The email is keyed by the
    disabling, not the delivery: one replayed after the endpoint was enabled again can disable it again,
    and that is told too."""
    reason = f"a delivery failed for {domain.MAX_ATTEMPTS} attempts over about three days ({outcome.error})"
    disabled = await store.disable_endpoint(conn, row["endpoint_id"], reason[:500])
    if disabled is not None:
        disabling_id = uuid.uuid4()
        await store.insert_disabling(conn, disabling_id, row["id"])
        await mail.owe(conn, DISABLED_EMAIL, disabling_id, disabled["creator_email"], disabled["tenant_id"])
        log.warning("webhook_endpoint_disabled", endpoint_id=str(row["endpoint_id"]), delivery_id=str(row["id"]),
                    disabling_id=str(disabling_id))


def _delivery(row: asyncpg.Record) -> Delivery:
    return Delivery(**{key: row[key] for key in Delivery.model_fields})


async def _own_endpoint(conn: asyncpg.Connection, identity: Identity, endpoint_id: uuid.UUID,
                        lock: bool = False) -> None:
    """The caller's tenant's endpoint, or WebhookNotFound. `lock`: its row locked, as before writing its
    deliveries (endpoint, then deliveries: the order every writer of both takes; and a replay's new
    position is drawn under it, like a new delivery's)."""
    if await endpoint_store.one(conn, require_master(identity), endpoint_id, for_update=lock) is None:
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
        await _own_endpoint(conn, identity, endpoint_id, lock=True)
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
        await _own_endpoint(conn, identity, endpoint_id, lock=True)
        ids = await store.finished_since(conn, endpoint_id, domain.replay_from(since))
        await store.requeue(conn, ids)
    return Replayed(replayed=len(ids))
