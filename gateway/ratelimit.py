"""Rate limits and sign-in lock-out, kept in this process's memory.

Limits protect against runaway clients and password guessing. They are per process: with several
gateway workers each counts on its own, so the effective limit is that many times higher (a shared
store such as Redis would make it exact; none is part of this system yet).
"""

from __future__ import annotations

import math
import time
from collections import deque

from limits import RateLimitItem, parse

from common.problems import TooManyRequests


class RateLimited(TooManyRequests):
    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.headers = {"Retry-After": str(max(1, retry_after))}


class MovingWindow:
    """At most `amount` events per key in any window of `seconds`, counted exactly.

    Plain memory and no I/O. (The `limits` library's in-memory store, used before, expired its windows
    with a thread hop per key every few milliseconds: with 10,000 users that was a third of the
    gateway's CPU under load.) Keys whose last event has left the window are dropped as hits go by,
    so memory follows the active keys, not every key ever seen."""

    def __init__(self, item: RateLimitItem) -> None:
        self.amount = item.amount
        self.seconds = float(item.get_expiry())
        self._events: dict[str, deque[float]] = {}
        self._next_sweep = 0.0

    def _live(self, key: str, now: float) -> deque[float]:
        events = self._events.get(key)
        if events is None:
            return deque()
        while events and events[0] <= now - self.seconds:
            events.popleft()
        return events

    def test(self, key: str) -> bool:
        """Whether one more event would be allowed (nothing counted)."""
        return len(self._live(key, time.monotonic())) < self.amount

    def hit(self, key: str) -> bool:
        """Count an event if allowed; answers whether it was."""
        now = time.monotonic()
        self._sweep(now)
        events = self._live(key, now)
        if len(events) >= self.amount:
            return False
        events.append(now)
        self._events[key] = events
        return True

    def retry_after(self, key: str) -> int:
        """Whole seconds until one more event is allowed."""
        now = time.monotonic()
        events = self._live(key, now)
        if len(events) < self.amount:
            return 0
        return math.ceil(events[0] + self.seconds - now)

    def _sweep(self, now: float) -> None:
        if now < self._next_sweep:
            return
        self._next_sweep = now + self.seconds
        for key in [k for k, events in self._events.items() if not events or events[-1] <= now - self.seconds]:
            del self._events[key]


class Limits:
    def __init__(self, sign_in_per_ip: str, sign_in_per_email: str, writes_per_user: str,
                 lockout_failures: int, lockout_seconds: int) -> None:
        self._sign_in_ip = MovingWindow(parse(sign_in_per_ip))
        self._sign_in_email = MovingWindow(parse(sign_in_per_email))
        self._writes = MovingWindow(parse(writes_per_user))
        self._failures = MovingWindow(parse(f"{lockout_failures}/{lockout_seconds} seconds"))

    async def sign_in_attempt(self, ip: str, email: str) -> None:
        """Count an attempt; refuse it when the address or the email is over its limit, or locked."""
        email = email.strip().lower()
        if not self._failures.test(email):
            raise RateLimited("Too many failed sign-ins for this email; try again later.",
                              self._failures.retry_after(email))
        for window, key in ((self._sign_in_ip, ip), (self._sign_in_email, email)):
            if not window.hit(key):
                raise RateLimited("Too many sign-in attempts; wait a moment.", window.retry_after(key))

    async def sign_in_failed(self, email: str) -> None:
        self._failures.hit(email.strip().lower())

    async def write(self, user_key: str) -> None:
        if not self._writes.hit(user_key):
            raise RateLimited("Too many requests; slow down.", self._writes.retry_after(user_key))
