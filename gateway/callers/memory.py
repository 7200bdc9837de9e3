"""What a gateway process remembers of the directory, and when it must forget it: the rules the caller cache
(`cache`) and the account owners' cache (`owners`) share.

"A change takes effect on the next request" (deactivation, a changed role or team, a tenant's new mode, a
session signed out) stays true because of what may be remembered, and for how long:
- only what belongs to a tenant's people (masters and users): every change to them, to their tenant or to
  their sessions is announced on the bus (`gateway.directory.events`), and every replica forgets what it
  concerns when it hears of it (`invalidation`);
- only while the process can hear those announcements: with the bus connection down nothing is served from
  memory and nothing is remembered, and when it comes back everything is forgotten (what was missed is unknown);
- never longer than `ttl`: a backstop for a subscription lost without the connection noticing;
- a lookup that overlapped a forgetting is not remembered: it may have read the directory just before the
  change committed, and the announcement that would have cleared it has come and gone (`ticket`).
"""

from __future__ import annotations

import time
import uuid
from collections import Counter as Tally
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import ClassVar, Generic, TypeVar

from prometheus_client import Counter

from common.logs import get_logger

log = get_logger(__name__)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass
class CacheStats:
    """One memory's own counts (its Prometheus counters add up every memory of its kind in the process)."""

    hits: int = 0
    misses: int = 0
    bypassed: int = 0
    invalidations: Tally[str] = field(default_factory=Tally)  # by cause


@dataclass(frozen=True)
class _Remembered(Generic[V]):
    value: V
    person_id: uuid.UUID
    tenant_id: uuid.UUID
    until: float


class Memory(Generic[K, V]):
    """Values read from the directory, each of one person of one tenant (whose changes forget it). A kind of
    memory names its metrics: lookups by outcome, forgettings by cause."""

    lookups: ClassVar[Counter | None] = None
    invalidations: ClassVar[Counter | None] = None

    def __init__(self, ttl: float, max_entries: int, listening: Callable[[], bool] = lambda: True,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._max_entries = max_entries
        self._listening = listening  # whether the announcements can reach this process now
        self._clock = clock
        # In the order they were remembered, which is the order they expire in (one ttl for all).
        self._entries: dict[K, _Remembered[V]] = {}
        self._of_person: dict[uuid.UUID, set[K]] = {}
        self._epoch = 0  # moves on at every forgetting
        self.stats = CacheStats()

    @property
    def enabled(self) -> bool:
        return self._ttl > 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: K) -> V | None:
        """The value if remembered and still to be trusted; None: look it up."""
        if not self._trusted():
            self._count("bypass")
            return None
        found = self._entries.get(key)
        if found is not None and found.until <= self._clock():
            self._drop(key)
            found = None
        self._count("hit" if found is not None else "miss")
        return found.value if found is not None else None

    def ticket(self) -> int:
        """Taken before reading the directory, handed back to `put`."""
        return self._epoch

    def put(self, key: K, value: V, person_id: uuid.UUID, tenant_id: uuid.UUID, ticket: int) -> bool:
        """Remember a value just read from the directory, unless anything was forgotten since `ticket` was
        taken; True when remembered."""
        if ticket != self._epoch or not self._trusted():
            return False
        self._drop(key)  # remembered again: it moves to the end, where its expiry belongs
        self._make_room()
        self._entries[key] = _Remembered(value, person_id, tenant_id, self._clock() + self._ttl)
        self._of_person.setdefault(person_id, set()).add(key)
        return True

    def forget_person(self, person_id: uuid.UUID, cause: str) -> None:
        self._epoch += 1
        for key in self._of_person.pop(person_id, set()):
            del self._entries[key]
        self._forgot(cause)

    def forget_tenant(self, tenant_id: uuid.UUID, cause: str) -> None:
        self._epoch += 1
        # A scan rather than an index kept up on every fill: a tenant changes rarely (an operator's action).
        for key in [k for k, r in self._entries.items() if r.tenant_id == tenant_id]:
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
            log.warning("directory_memory_deaf", forgotten=len(self._entries))
            self.forget_all("bus-down")
        return False

    def _make_room(self) -> None:
        now = self._clock()
        while self._entries:
            oldest = next(iter(self._entries))
            if self._entries[oldest].until > now and len(self._entries) < self._max_entries:
                return
            self._drop(oldest)

    def _drop(self, key: K) -> None:
        found = self._entries.pop(key, None)
        if found is None:
            return
        keys = self._of_person.get(found.person_id)
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._of_person[found.person_id]

    def _count(self, outcome: str) -> None:
        if self.lookups is not None:
            self.lookups.labels(outcome).inc()
        if outcome == "hit":
            self.stats.hits += 1
        elif outcome == "miss":
            self.stats.misses += 1
        else:
            self.stats.bypassed += 1

    def _forgot(self, cause: str) -> None:
        if self.invalidations is not None:
            self.invalidations.labels(cause).inc()
        self.stats.invalidations[cause] += 1
