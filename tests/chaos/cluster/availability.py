"""Availability as the clients saw it: of every HTTP request they sent (retries included), the share that
failed (a 5xx, or no answer at all), overall and while a fault was in effect. Pure arithmetic, no I/O.

A fault is in effect from the moment it is injected until HAProxy again counts every server up (its
`Window`). A request belongs to a window when the two overlap: one sent just before a kill and cut by it
counts, and so does one sent just before the balancer counted the replica back in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tests.chaos.driver import Attempt

GOAL_PERCENT = 1.0


@dataclass(frozen=True)
class Window:
    kind: str  # "kill ledger-1", "kill rabbit-2", "restart postgres-replica", ...
    start: float  # monotonic seconds
    end: float

    @property
    def family(self) -> str:
        """The kind without the replica's number: "kill ledger", "kill rabbit", "pause gateway"."""
        action, _, target = self.kind.partition(" ")
        name, dash, number = target.rpartition("-")
        return f"{action} {name}" if dash and number.isdigit() else self.kind

    def overlaps(self, attempt: Attempt) -> bool:
        return attempt.started <= self.end and attempt.ended >= self.start


@dataclass(frozen=True)
class Share:
    requests: int
    failed: int

    @property
    def percent(self) -> float:
        return 100.0 * self.failed / self.requests if self.requests else 0.0

    def __str__(self) -> str:
        return f"{self.failed}/{self.requests} failed ({self.percent:.2f} %)"


def share(attempts: Iterable[Attempt]) -> Share:
    listed = list(attempts)
    return Share(len(listed), sum(a.failed for a in listed))


@dataclass(frozen=True)
class Availability:
    overall: Share
    while_down: Share  # requests overlapping any fault window
    by_family: dict[str, Share]  # the same, for the windows of each family of faults
    seconds_down: float  # the windows' union

    @property
    def goal_met(self) -> bool:
        return self.while_down.requests > 0 and self.while_down.percent < GOAL_PERCENT

    def as_dict(self) -> dict[str, object]:
        def of(s: Share) -> dict[str, float | int]:
            return {"requests": s.requests, "failed": s.failed, "failed_percent": round(s.percent, 3)}

        return {"overall": of(self.overall), "while_down": of(self.while_down),
                "by_fault": {family: of(s) for family, s in self.by_family.items()},
                "seconds_down": round(self.seconds_down, 1), "goal_percent": GOAL_PERCENT, "goal_met": self.goal_met}


def union_seconds(windows: Iterable[Window]) -> float:
    total, reached = 0.0, float("-inf")
    for window in sorted(windows, key=lambda w: w.start):
        start = max(window.start, reached)
        if window.end > start:
            total += window.end - start
        reached = max(reached, window.end)
    return total


def availability(attempts: list[Attempt], windows: list[Window]) -> Availability:
    families: dict[str, list[Window]] = {}
    for window in windows:
        families.setdefault(window.family, []).append(window)

    def within(chosen: list[Window]) -> Share:
        return share(a for a in attempts if any(w.overlaps(a) for w in chosen))

    return Availability(share(attempts), within(windows),
                        {family: within(chosen) for family, chosen in sorted(families.items())},
                        union_seconds(windows))
