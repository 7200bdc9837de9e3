"""What a gateway process remembers of the callers it verified, and when it must forget them.

"A change takes effect on the next request" (deactivation, a changed role, a tenant's new mode, a session
signed out) stays true because of what may be remembered, and for how long:
- only a tenant's people (masters and users): every change to them, to their tenant or to their sessions is
  announced on the bus (`gateway.directory.events`), and every replica forgets what it concerns when it hears
  of it. Operators and internal systems are looked up every time: nothing announces their changes.
- only while the process can hear those announcements: with the bus connection down nothing is served from
  memory and nothing is remembered, and when it comes back everything is forgotten (what was missed is unknown).
- never longer than `ttl`: a backstop for a subscription lost without the connection noticing.
- a lookup that overlapped a forgetting is not remembered: it may have read the directory just before the
  change committed, and the announcement that would have cleared it has come and gone (`ticket`).
"""

from __future__ import annotations

import time
import uuid
from collections import Counter as Tally
from collections.abc import Callable
from dataclasses import dataclass, field

from prometheus_client import Counter

from common.logs import get_logger
from gateway.web.auth import Caller

log = get_logger(__name__)

LOOKUPS = Counter("gateway_caller_cache_lookups_total",
                  "Authenticated requests by where their caller came from: hit (memory), miss (the directory, "
                  "then remembered), bypass (the directory: memory off or not to be trusted)", ["outcome"])
INVALIDATIONS = Counter("gateway_caller_cache_invalidations_total",
                        "Times the caller cache forgot callers, by cause", ["cause"])

Key = tuple[uuid.UUID, uuid.UUID]  # (person, session): a token names both, and both must match


@dataclass
class CacheStats:
    """This cache's own counts (the Prometheus counters add up every cache of the process)."""

    hits: int = 0
    misses: int = 0
    bypassed: int = 0
    invalidations: Tally[str] = field(default_factory=Tally)  # by cause


@dataclass(frozen=True)
class _Remembered:
    caller: Caller
    until: float


def may_remember(caller: Caller) -> bool:
    """Only those whose every change is announced: a tenant's people, in a session."""
    return caller.tenant is not None and caller.session_id is not None and caller.person.role in ("master", "user")


class CallerCache:
    def __init__(self, ttl: float, max_entries: int, listening: Callable[[], bool] = lambda: True,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._max_entries = max_entries
        self._listening = listening  # whether the announcements can reach this process now
        self._clock = clock
        # In the order they were remembered, which is the order they expire in (one ttl for all).
        self._entries: dict[Key, _Remembered] = {}
        self._of_person: dict[uuid.UUID, set[Key]] = {}
        self._epoch = 0  # moves on at every forgetting
        self.stats = CacheStats()

    @property
    def enabled(self) -> bool:
        return self._ttl > 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, person_id: uuid.UUID, session_id: uuid.UUID) -> Caller | None:
        """The caller of this session if remembered and still to be trusted; None: look them up."""
        if not self._trusted():
            self._count("bypass")
            return None
        key = (person_id, session_id)
        found = self._entries.get(key)
        if found is not None and found.until <= self._clock():
            self._drop(key)
            found = None
        self._count("hit" if found is not None else "miss")
        return found.caller if found is not None else None

    def ticket(self) -> int:
        """Taken before reading the directory, handed back to `put`."""
        return self._epoch

    def put(self, caller: Caller, ticket: int) -> bool:
        """Remember a caller just read from the directory, unless anything was forgotten since `ticket` was
        taken, or the caller is not one to remember; True when remembered."""
        if ticket != self._epoch or not may_remember(caller) or not self._trusted():
            return False
        assert caller.session_id is not None
        key = (caller.person.id, caller.session_id)
        self._drop(key)  # remembered again: it moves to the end, where its expiry belongs
        self._make_room()
        self._entries[key] = _Remembered(caller, self._clock() + self._ttl)
        self._of_person.setdefault(caller.person.id, set()).add(key)
        return True

    def forget_person(self, person_id: uuid.UUID, cause: str) -> None:
        self._epoch += 1
        for key in self._of_person.pop(person_id, set()):
            del self._entries[key]
        self._forgot(cause)

    def forget_tenant(self, tenant_id: uuid.UUID, cause: str) -> None:
        self._epoch += 1
        # A scan rather than an index kept up on every fill: a tenant changes rarely (an operator's action).
        for key in [k for k, r in self._entries.items() if r.caller.tenant and r.caller.tenant.id == tenant_id]:
            self._drop(key)
        self._forgot(cause)

    def forget_all(self, cause: str) -> None:
        self._epoch += 1
        self._entries.clear()
        self._of_person.clear()
        self._forgot(cause)

    def _trusted(self) -> bool:
        if not self.enabled:
            return False
        if self._listening():
            return True
        if self._entries:
            log.warning("caller_cache_deaf", forgotten=len(self._entries))
            self.forget_all("bus-down")
        return False

    def _make_room(self) -> None:
        now = self._clock()
        while self._entries:
            oldest = next(iter(self._entries))
            if self._entries[oldest].until > now and len(self._entries) < self._max_entries:
                return
            self._drop(oldest)

    def _drop(self, key: Key) -> None:
        if self._entries.pop(key, None) is None:
            return
        keys = self._of_person.get(key[0])
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._of_person[key[0]]

    def _count(self, outcome: str) -> None:
        LOOKUPS.labels(outcome).inc()
        if outcome == "hit":
            self.stats.hits += 1
        elif outcome == "miss":
            self.stats.misses += 1
        else:
            self.stats.bypassed += 1

    def _forgot(self, cause: str) -> None:
        INVALIDATIONS.labels(cause).inc()
        self.stats.invalidations[cause] += 1
