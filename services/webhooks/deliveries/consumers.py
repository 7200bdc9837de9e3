"""Every public event, from the webhooks' own queue: a delivery for each endpoint that wants it.

Applied in batches by one task per process (common.bus.BatchHandler), in the order the queue hands them
over: an endpoint's deliveries are made, and so sent, in that order. (A handler per message would run
them concurrently, and the later of two events could take the earlier place in the line.)"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from aiohttp import web

from common.batches import BatchHandler
from common.bus import PoisonEvent
from common.contracts import queues
from common.contracts.events import Event
from common.runtime import BROKER, DB, CleanupCtx
from services.webhooks.deliveries import domain, usecases

MAX_BATCH = 200


def prepare(event: Event) -> usecases.Arrived:
    try:
        return usecases.Arrived(event, domain.tenant_of(event))
    except domain.NotForWebhooks as exc:
        raise PoisonEvent(str(exc)) from exc


def events_ctx() -> CleanupCtx:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        async def apply(batch: Sequence[usecases.Arrived]) -> None:
            await usecases.record_events(app[DB], batch)

        handler = BatchHandler(prepare, apply, max_batch=MAX_BATCH)
        await app[BROKER].consume_batches(queues.WEBHOOKS_EVENTS.name, handler, prefetch=2 * MAX_BATCH)
        yield  # the broker's own clean-up stops the batch worker before it closes the connection

    return ctx
