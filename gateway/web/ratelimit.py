"""Rate limits and sign-in lock-out, shared by every gateway replica.

Limits protect against runaway clients and password guessing. They count in the gateway's database
(`gateway.web.ratelimit_store`), so with any number of replicas behind a load balancer a client gets each
limit once, password resets among them. (`MovingWindow`, the exact window in one process's memory that
counted them before, is kept for tests and tools that need a limit without a database.)

Sign-in is limited per address and per account. The address limit is generous: the people of one
office share an address, and their everyday sign-ins must not lock one another out; it only stops one
machine trying thousands of accounts. The account limit is tight, and failures lock the account, never
the address. Every limited answer tells the client where it stands (`Quota`: the IETF draft's
`RateLimit-Limit`, `-Remaining` and `-Reset` header fields).

When the database cannot be reached, sign-in and renewal fail closed (503, through the error middleware:
guessing must not get easier because the database is away, and both need the database anyway), while
writes fail open (counted nowhere, let through: the guard against runaway clients must not turn an outage
of the gateway's database into one of every write; each service keeps its own database and limits).
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections import deque
from collections.abc import Sequence

import asyncpg
from limits import RateLimitItem
from prometheus_client import Counter

from common.db import DATABASE_UNAVAILABLE
from common.logs import get_logger
from common.problems import TooManyRequests
from gateway.settings import GatewaySettings
from gateway.web.ratelimit_store import Count, PostgresWindows, Quota, Window, WindowStore, key_secret

__all__ = ["Limits", "MovingWindow", "Quota", "RateLimited", "client_address", "networks", "tightest"]

log = get_logger(__name__)
STORE_UNAVAILABLE = Counter("gateway_rate_limit_store_unavailable_total",
                            "Events let through unchecked: the database of the rate limits was unavailable",
                            ["limit"])

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


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
    def __init__(self, store: WindowStore, sign_in_per_ip: str, sign_in_per_email: str, writes_per_user: str,
                 lockout_failures: int, lockout_seconds: int, trusted_proxies: Sequence[Network] = (),
                 resets_per_ip: str = "30/minute", resets_per_email: str = "3/hour") -> None:
        self._store = store
        self._sign_in_ip = Window.of("sign_in_ip", sign_in_per_ip)
        self._sign_in_email = Window.of("sign_in_email", sign_in_per_email)
        self._writes = Window.of("writes", writes_per_user)
        self._failures = Window("sign_in_failures", lockout_failures, float(lockout_seconds))
        self._reset_ip = Window.of("password_reset_ip", resets_per_ip)
        self._reset_email = Window.of("password_reset_email", resets_per_email)
        self.trusted_proxies = tuple(trusted_proxies)

    @classmethod
    def from_settings(cls, settings: GatewaySettings, pool: asyncpg.Pool) -> Limits:
        return cls(PostgresWindows(pool, key_secret(settings.jwt_secret)), settings.sign_in_limit_per_ip,
                   settings.sign_in_limit_per_email, settings.write_limit_per_user, settings.lockout_failures,
                   settings.lockout_seconds, networks(settings.trusted_proxies),
                   settings.password_reset_limit_per_ip, settings.password_reset_limit_per_email)

    async def sign_in_attempt(self, ip: str, email: str) -> Quota:
        """Count an attempt; refuse it when the account is locked, or the address or the account is over its
        limit. The address is counted first: an attempt it refuses is not counted against the account (one
        machine trying many accounts must not use up their owners' attempts), while one the account refuses
        has been counted against the address (a machine hammering one account soon meets the address limit)."""
        email = email.strip().lower()
        failures = await self._store.peek(self._failures, email)
        if failures.full(self._failures):
            raise RateLimited("Too many failed sign-ins for this account; try again later.",
                              failures.retry_after(), failures.quota(self._failures))
        counts = []
        for window, key in ((self._sign_in_ip, ip), (self._sign_in_email, email)):
            count = await self._store.hit(window, key)
            if not count.counted:
                raise RateLimited("Too many sign-in attempts; wait a moment.", count.retry_after(),
                                  count.quota(window))
            counts.append(count.quota(window))
        return tightest(*counts, failures.quota(self._failures))

    async def sign_in_failed(self, email: str) -> None:
        await self._store.hit(self._failures, email.strip().lower())

    async def renewal(self, ip: str) -> Quota:
        """A refresh from this address: counted with its sign-ins (a refresh token is far too
        long to guess, but a flood of them still costs a database round trip each)."""
        count = await self._store.hit(self._sign_in_ip, ip)
        if not count.counted:
            raise RateLimited("Too many requests from this address; wait a moment.", count.retry_after(),
                              count.quota(self._sign_in_ip))
        return count.quota(self._sign_in_ip)

    async def password_reset(self, ip: str, email: str) -> Quota:
        """A password reset asked for: per address, against one machine mailing thousands of people; per
        email, so that nobody's mailbox is flooded with reset links. An email with no account is counted the
        same as one with: a limit only real accounts reach would tell which exist. Fails closed, as sign-in."""
        counts = []
        for window, key in ((self._reset_ip, ip), (self._reset_email, email.strip().lower())):
            count = await self._store.hit(window, key)
            if not count.counted:
                raise RateLimited("Too many password reset requests; try again later.", count.retry_after(),
                                  count.quota(window))
            counts.append(count.quota(window))
        return tightest(*counts)

    async def write(self, user_key: str) -> Quota:
        try:
            count = await self._store.hit(self._writes, user_key)
        except DATABASE_UNAVAILABLE as exc:
            STORE_UNAVAILABLE.labels(self._writes.name).inc()
            log.warning("rate_limit_store_unavailable", limit=self._writes.name, outcome="allowed", error=repr(exc))
            return Count(False, 0, 0.0).quota(self._writes)  # nothing counted: the whole amount stands
        if not count.counted:
            raise RateLimited("Too many requests; slow down.", count.retry_after(), count.quota(self._writes))
        return count.quota(self._writes)


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
