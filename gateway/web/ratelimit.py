"""Rate limits and sign-in lock-out, kept in this process's memory.

Limits protect against runaway clients and password guessing. They are per process: with several
gateway workers each counts on its own, so the effective limit is that many times higher (a shared
store such as Redis would make it exact; none is part of this system yet).

Sign-in is limited per address and per account. The address limit is generous: the people of one
office share an address, and their everyday sign-ins must not lock one another out; it only stops one
machine trying thousands of accounts. The account limit is tight, and failures lock the account, never
the address. Every limited answer tells the client where it stands (`Quota`: the IETF draft's
`RateLimit-Limit`, `-Remaining` and `-Reset` header fields).
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from limits import RateLimitItem, parse

from common.problems import TooManyRequests
from gateway.settings import GatewaySettings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Quota:
    """Where a caller stands against a limit: how many events the window allows, how many are left, and
    in how many seconds the oldest counted one leaves the window (one more is then allowed)."""

    limit: int
    remaining: int
    reset: int

    def headers(self) -> dict[str, str]:
        return {"RateLimit-Limit": str(self.limit), "RateLimit-Remaining": str(self.remaining),
                "RateLimit-Reset": str(self.reset)}


def tightest(*quotas: Quota) -> Quota:
    """Of several limits on one request, the one closest to refusing it (the draft's advice)."""
    return min(quotas, key=lambda q: (q.remaining, -q.reset))


class RateLimited(TooManyRequests):
    def __init__(self, detail: str, retry_after: int, quota: Quota | None = None) -> None:
        super().__init__(detail)
        wait = max(1, retry_after)
        self.headers = {"Retry-After": str(wait)}
        if quota is not None:
            self.headers.update(Quota(quota.limit, 0, wait).headers())


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

    def quota(self, key: str) -> Quota:
        now = time.monotonic()
        events = self._live(key, now)
        reset = math.ceil(events[0] + self.seconds - now) if events else 0
        return Quota(self.amount, max(0, self.amount - len(events)), reset)

    def _sweep(self, now: float) -> None:
        if now < self._next_sweep:
            return
        self._next_sweep = now + self.seconds
        for key in [k for k, events in self._events.items() if not events or events[-1] <= now - self.seconds]:
            del self._events[key]


class Limits:
    def __init__(self, sign_in_per_ip: str, sign_in_per_email: str, writes_per_user: str,
                 lockout_failures: int, lockout_seconds: int, trusted_proxies: Sequence[Network] = ()) -> None:
        self._sign_in_ip = MovingWindow(parse(sign_in_per_ip))
        self._sign_in_email = MovingWindow(parse(sign_in_per_email))
        self._writes = MovingWindow(parse(writes_per_user))
        self._failures = MovingWindow(parse(f"{lockout_failures}/{lockout_seconds} seconds"))
        self.trusted_proxies = tuple(trusted_proxies)

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> Limits:
        return cls(settings.sign_in_limit_per_ip, settings.sign_in_limit_per_email, settings.write_limit_per_user,
                   settings.lockout_failures, settings.lockout_seconds, networks(settings.trusted_proxies))

    async def sign_in_attempt(self, ip: str, email: str) -> Quota:
        """Count an attempt; refuse it when the address or the account is over its limit, or locked."""
        email = email.strip().lower()
        if not self._failures.test(email):
            raise RateLimited("Too many failed sign-ins for this account; try again later.",
                              self._failures.retry_after(email), self._failures.quota(email))
        windows = ((self._sign_in_ip, ip), (self._sign_in_email, email))
        for window, key in windows:
            if not window.test(key):
                raise RateLimited("Too many sign-in attempts; wait a moment.", window.retry_after(key),
                                  window.quota(key))
        for window, key in windows:
            window.hit(key)
        return tightest(*(window.quota(key) for window, key in windows), self._failures.quota(email))

    async def sign_in_failed(self, email: str) -> None:
        self._failures.hit(email.strip().lower())

    async def renewal(self, ip: str) -> Quota:
        """A refresh from this address: counted with its sign-ins (a refresh token is far too
        long to guess, but a flood of them still costs a database round trip each)."""
        if not self._sign_in_ip.hit(ip):
            raise RateLimited("Too many requests from this address; wait a moment.",
                              self._sign_in_ip.retry_after(ip), self._sign_in_ip.quota(ip))
        return self._sign_in_ip.quota(ip)

    async def write(self, user_key: str) -> Quota:
        if not self._writes.hit(user_key):
            raise RateLimited("Too many requests; slow down.", self._writes.retry_after(user_key),
                              self._writes.quota(user_key))
        return self._writes.quota(user_key)


def networks(text: str) -> tuple[Network, ...]:
    """`TRUSTED_PROXIES`: addresses and networks, comma-separated (a mistyped one fails the start)."""
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip())


def _trusted(address: str, trusted: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def client_address(peer: str | None, forwarded_for: str | None, trusted: Sequence[Network]) -> str:
    """The address a request came from. `X-Forwarded-For` is believed only when the peer is one of our
    own proxies, and then read from the right: each trusted proxy appends the address it saw, so the
    right-most address that is not a trusted proxy is the client; anything left of it the client wrote."""
    if peer is None:
        return "unknown"
    if not forwarded_for or not _trusted(peer, trusted):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, trusted):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # not an address our proxy would write: trust nothing of it
    return hops[0] if hops else peer
