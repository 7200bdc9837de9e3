"""The bus side of the caller and account owners' caches: a queue of this process's own (exclusive,
auto-delete, not durable, as the live stream's) bound to the directory's announcements, which make both
forget whom they concern. Every replica has its own, so a change made through any replica reaches the memory
of all.

The queue lives on the gateway's robust broker connection: after a reconnection it is declared, bound and
consumed again, and only then are the caches emptied (`on_reconnect`), since whatever was announced while the
connection was down never arrives. While it is down, neither answers nor remembers (their `listening` is the
connection's state)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from common.logs import get_logger
from common.runtime import BROKER, CleanupCtx
from gateway.callers import invalidation
from gateway.callers.cache import CallerCache
from gateway.callers.memory import Memory
from gateway.callers.owners import OwnerCache
from gateway.resources import CALLER_CACHE, OWNER_CACHE

log = get_logger(__name__)


def _missed_while_away(caches: tuple[Memory[Any, Any], ...]) -> None:
    log.warning("caller_cache_reconnected", forgotten=sum(len(cache) for cache in caches))
    for cache in caches:
        cache.forget_all("bus-reconnected")


def caller_cache_ctx(ttl: float, max_entries: int) -> CleanupCtx:
    """The caches and their bus subscription (after `broker_ctx`, whose connection it uses), in place before the
    first request: nothing is remembered that the subscription could not have made it forget."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        broker = app[BROKER]
        callers = app[CALLER_CACHE] = CallerCache(ttl, max_entries, listening=lambda: broker.is_connected)
        owners = app[OWNER_CACHE] = OwnerCache(ttl, max_entries, listening=lambda: broker.is_connected)
        caches = (callers, owners)
        if callers.enabled:
            await broker.subscribe_transient("callers", invalidation.ROUTING_KEYS,
                                             lambda event: invalidation.apply_all(caches, event))
            broker.on_reconnect(lambda: _missed_while_away(caches))
        yield

    return ctx
