"""The bus side of the live stream: this process's own queue (exclusive, auto-delete, not durable: it is
this process's and goes with it) bound to the routing keys of the types the stream shows, feeding the
hub. Every replica has its own, so each fans out to the clients connected to it.

Nothing is acknowledged or kept for a process that is away: a client that missed messages resumes from
its replica's buffer or is told to reload (`reset`). The queue is declared on the broker connection the
gateway already holds, a robust one: after a broker restart it is declared, bound and consumed again. What
was published while the connection was down never reaches this process, so when it comes back the hub
restarts (a new `boot`) and ends every stream: their clients reconnect, their ids are unknown, and the
`reset` they get has them reload what they show."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

from aiohttp import web

from common.contracts.catalogue import CATALOGUE
from common.contracts.events import Event
from common.logs import get_logger
from common.runtime import BROKER, CleanupCtx
from gateway.live.hub import Hub
from gateway.live.views import SHOWN_TYPES, messages_of

log = get_logger(__name__)

HUB = web.AppKey("live_hub", Hub)
ROUTING_KEYS = tuple(sorted(CATALOGUE[t].routing_key for t in SHOWN_TYPES))


def feed(hub: Hub, event: Event) -> None:
    """One event from the bus into the hub: shaped, numbered, queued for its tenant's streams. An event of a
    tenant nobody here follows is dropped before its payload is read (most of them, on most replicas)."""
    tenant = event.data.get("tenant_id") if isinstance(event.data, dict) else None
    if tenant is not None and not _followed(hub, tenant):
        return
    try:
        shaped = messages_of(event)
    except ValueError as exc:  # a payload that does not match its type's model: nothing to show
        log.warning("live_event_unreadable", event_id=str(event.id), event_type=event.type, error=str(exc)[:300])
        return
    if shaped:
        hub.publish(shaped[0].concerns.tenant_id, shaped)


def _followed(hub: Hub, tenant: object) -> bool:
    try:
        return hub.follows(uuid.UUID(str(tenant)))
    except ValueError:
        return True  # unreadable: let the shaping judge it (and log it)


def _missed_while_away(hub: Hub) -> None:
    """The bus connection came back (after its queue was declared, bound and consumed again)."""
    log.warning("live_feed_reconnected", streams_ended=hub.stream_count)
    hub.restart("bus-reconnected")


def live_ctx(buffer_size: int, max_streams: int) -> CleanupCtx:
    """The hub and its bus subscription (after `broker_ctx`, whose connection it uses)."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        hub = app[HUB] = Hub(buffer_size, max_streams)
        broker = app[BROKER]
        await broker.subscribe_transient("live", ROUTING_KEYS, lambda event: feed(hub, event))
        broker.on_reconnect(lambda: _missed_while_away(hub))
        yield

    return ctx


async def end_streams(app: web.Application) -> None:
    """`on_shutdown`: end every stream, so that the server's graceful stop does not wait for them (they
    never end by themselves); their clients reconnect to another replica."""
    if HUB in app:
        app[HUB].end_all("shutdown")
