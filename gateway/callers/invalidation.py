"""Which announced change makes a gateway process forget which callers and account owners: one rule,
applied both to what the process hears on the bus (`feed`, the changes made through any replica) and to what
a request of its own announced (`announced`, applied as soon as that request is answered).

- `gateway.directory.user_changed`: every session of that person, and the accounts they own. It is also how
  a session's end is announced (sign-out, a device signed out, a reused refresh token, a new password:
  `announce_sessions_ended`), until the catalogue has an event for sessions.
- `gateway.directory.tenant_changed`, `gateway.tenant.credit_mode_changed`: everyone of that tenant (the
  caller carries the tenant, its credit mode among its facts; an account is a person's only in individual
  mode).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from common.contracts import events
from common.contracts.events import Event
from common.logs import get_logger
from gateway.callers.memory import Memory

log = get_logger(__name__)

FORGETTING_TYPES = (events.USER_CHANGED, events.TENANT_CHANGED, events.CREDIT_MODE_CHANGED)
ROUTING_KEYS = tuple(sorted(events.routing_key(t) for t in FORGETTING_TYPES))


def apply_all(caches: Iterable[Memory[Any, Any]], event: Event) -> None:
    for cache in caches:
        apply(cache, event)


def apply(cache: Memory[Any, Any], event: Event) -> None:
    try:
        if event.type == events.USER_CHANGED:
            cache.forget_person(uuid.UUID(str(event.data["user_id"])), "user-changed")
        elif event.type in (events.TENANT_CHANGED, events.CREDIT_MODE_CHANGED):
            cache.forget_tenant(uuid.UUID(str(event.data["tenant_id"])), "tenant-changed")
    except (KeyError, ValueError):
        # A change whose subject cannot be read: who changed is unknown, so no one is remembered.
        log.warning("caller_change_unreadable", event_id=str(event.id), event_type=event.type)
        cache.forget_all("unreadable-change")
