"""Where the gateway's rate limits count: the gateway's own Postgres database, shared by every replica, so a
client behind a load balancer gets the limit once, not once per replica.

Each limit is a `Window`: at most `amount` events per key in a window of `seconds` that opens with the key's
first counted event (the counter-with-expiry of a cache, INCR and PEXPIRE, in one row). A check is one
statement: an upsert that counts the event only while the window holds fewer than `amount`, under the row's
lock, so two replicas counting the same key at once never both take the last place (no read-then-write). A
refused event is not counted: a client that keeps hammering gets its next window's full amount once the
window ends. The catch of any window that starts and ends (rather than moving with every event) is the seam:
up to twice `amount` can pass in a moment, `amount` just before a window ends and `amount` just after.

Keys are stored as an HMAC under a key derived from the gateway's JWT secret: the table holds no email or
address, and one cannot be recovered from it by hashing every candidate (an IPv4 address has only 2^32).
Chosen over Redis, measured: docs/architecture.md, "Rate limits", and `python -m bench rate_limits`.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass
from typing import Protocol

import asyncpg
from aiohttp import web
from limits import parse

from common.runtime import DB

# Rows of keys whose window has ended are deleted this often, by every replica (a DELETE that two replicas
# run at once only finds fewer rows); until then such a row is reset by the key's next event like a new one.
SWEEP_SECONDS = 60.0


@dataclass(frozen=True)
class Quota:
    """Where a caller stands against a limit: how many events the window allows, how many are left, and
    in how many seconds the count starts to fall (the window ends, or its oldest event leaves it)."""

    limit: int
    remaining: int
    reset: int

    def headers(self) -> dict[str, str]:
        return {"RateLimit-Limit": str(self.limit), "RateLimit-Remaining": str(self.remaining),
                "RateLimit-Reset": str(self.reset)}


@dataclass(frozen=True)
class Window:
    """A limit: at most `amount` events per key in `seconds`. `name` tells the limits apart in the store."""

    name: str
    amount: int
    seconds: float

    @classmethod
    def of(cls, name: str, text: str) -> Window:
        """From a setting such as `10/minute` or `5000/second` (the `limits` library's notation)."""
        item = parse(text)
        return cls(name, item.amount, float(item.get_expiry()))


@dataclass(frozen=True)
class Count:
    """A key's window as the store answered: whether this event was counted, the events counted in it, and
    the seconds until it ends (0 or less: no window open)."""

    counted: bool
    hits: int
    resets_in: float

    def quota(self, window: Window) -> Quota:
        if self.hits <= 0 or self.resets_in <= 0:
            return Quota(window.amount, window.amount, 0)
        return Quota(window.amount, max(0, window.amount - self.hits), math.ceil(self.resets_in))

    def full(self, window: Window) -> bool:
        """Whether the window holds its amount: the next event is refused."""
        return self.resets_in > 0 and self.hits >= window.amount

    def retry_after(self) -> int:
        """Whole seconds until an event is allowed again."""
        return max(0, math.ceil(self.resets_in))


def counted_after(window: Window, count: Count | None) -> Count:
    """The rule every store applies to one event, given the key's window before it (None: no row). Postgres
    applies it in its upsert (`_HIT`); written here too for stores in memory and for the unit tests."""
    if count is None or count.resets_in <= 0:
        return Count(True, 1, window.seconds)
    if count.hits >= window.amount:
        return Count(False, count.hits, count.resets_in)
    return Count(True, count.hits + 1, count.resets_in)


class WindowStore(Protocol):
    async def hit(self, window: Window, key: str) -> Count:
        """Count one event of `key` if its window has room; answers the window after it."""
        ...

    async def peek(self, window: Window, key: str) -> Count:
        """The window of `key` as it is, nothing counted."""
        ...


# The event is counted (or a window opened) under the row's lock; when refused, the second branch reads the
# row for the Retry-After. That read sees the row as the statement found it, which under concurrent events
# may be older than the one the upsert locked (or none yet): `PostgresWindows.hit` then assumes a full window.
_HIT = """
WITH counted AS (
    INSERT INTO rate_limit_windows AS w (limit_name, key, hits, resets_at)
    VALUES ($1, $2, 1, now() + make_interval(secs => $4))
    ON CONFLICT (limit_name, key) DO UPDATE
        SET hits = CASE WHEN w.resets_at <= now() THEN 1 ELSE w.hits + 1 END,
            resets_at = CASE WHEN w.resets_at <= now() THEN EXCLUDED.resets_at ELSE w.resets_at END
        WHERE w.resets_at <= now() OR w.hits < $3
    RETURNING hits, resets_at
)
SELECT true AS counted, hits, extract(epoch FROM resets_at - now())::float8 AS resets_in FROM counted
UNION ALL
SELECT false, hits, extract(epoch FROM resets_at - now())::float8 FROM rate_limit_windows
 WHERE limit_name = $1 AND key = $2 AND NOT EXISTS (SELECT 1 FROM counted)
"""
_PEEK = """
SELECT hits, extract(epoch FROM resets_at - now())::float8 AS resets_in FROM rate_limit_windows
 WHERE limit_name = $1 AND key = $2 AND resets_at > now()
"""


def key_secret(jwt_secret: str) -> bytes:
    """The HMAC key of the stored keys, derived so that it is never the signing key itself."""
    return hmac.new(jwt_secret.encode(), b"gateway rate limit keys", hashlib.sha256).digest()


def stored_key(secret: bytes, window: Window, key: str) -> bytes:
    """What the store keeps for `key`: 16 bytes of HMAC-SHA256, whose collisions between two keys of one
    limit are out of reach (it would take some 2^64 keys)."""
    return hmac.new(secret, f"{window.name}\n{key}".encode(), hashlib.sha256).digest()[:16]


class PostgresWindows:
    """The windows in the gateway's database (table `rate_limit_windows`), one statement per check."""

    def __init__(self, pool: asyncpg.Pool, secret: bytes) -> None:
        self._pool = pool
        self._secret = secret

    async def hit(self, window: Window, key: str) -> Count:
        row = await self._pool.fetchrow(_HIT, window.name, stored_key(self._secret, window, key), window.amount,
                                        window.seconds)
        if row is not None and row["counted"]:
            return Count(True, row["hits"], row["resets_in"])
        # Refused: the row the upsert locked was full, whatever older row (or none) the read found.
        resets_in = row["resets_in"] if row is not None and row["resets_in"] > 0 else window.seconds
        return Count(False, window.amount, resets_in)

    async def peek(self, window: Window, key: str) -> Count:
        row = await self._pool.fetchrow(_PEEK, window.name, stored_key(self._secret, window, key))
        return Count(False, 0, 0.0) if row is None else Count(False, row["hits"], row["resets_in"])


async def sweep(app: web.Application) -> None:
    """Delete the windows that have ended (a step for common.runtime.periodic). A row a concurrent event
    has just reset is not deleted: Postgres checks `resets_at` again on the row it locks."""
    await app[DB].execute("DELETE FROM rate_limit_windows WHERE resets_at < now()")
