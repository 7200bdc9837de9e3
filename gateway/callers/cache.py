"""The callers a gateway process verified lately, by (person, session): what `gateway.callers.memory` may
remember of the directory, under its rules. Operators and internal systems are looked up every time: nothing
announces their changes."""

from __future__ import annotations

import uuid

from prometheus_client import Counter

from gateway.callers.memory import Memory
from gateway.web.auth import Caller

LOOKUPS = Counter("gateway_caller_cache_lookups_total",
                  "Authenticated requests by where their caller came from: hit (memory), miss (the directory, "
                  "then remembered), bypass (the directory: memory off or not to be trusted)", ["outcome"])
INVALIDATIONS = Counter("gateway_caller_cache_invalidations_total",
                        "Times the caller cache forgot callers, by cause", ["cause"])

Key = tuple[uuid.UUID, uuid.UUID]  # (person, session): a token names both, and both must match


def may_remember(caller: Caller) -> bool:
    """Only those whose every change is announced: a tenant's people, in a session."""
    return caller.tenant is not None and caller.session_id is not None and caller.person.role in ("master", "user")


class CallerCache(Memory[Key, Caller]):
    lookups = LOOKUPS
    invalidations = INVALIDATIONS

    def get_caller(self, person_id: uuid.UUID, session_id: uuid.UUID) -> Caller | None:
        """The caller of this session if remembered and still to be trusted; None: look them up."""
        return self.get((person_id, session_id))

    def put_caller(self, caller: Caller, ticket: int) -> bool:
        """Remember a caller just read from the directory, unless anything was forgotten since `ticket` was
        taken, or the caller is not one to remember; True when remembered."""
        if not may_remember(caller):
            return False
        assert caller.session_id is not None and caller.tenant is not None
        return self.put((caller.person.id, caller.session_id), caller, caller.person.id, caller.tenant.id, ticket)
