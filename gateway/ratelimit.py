"""Rate limits and sign-in lock-out, kept in this process's memory.

Limits protect against runaway clients and password guessing. They are per process: with several
gateway workers each counts on its own, so the effective limit is that many times higher (a shared
store such as Redis would make it exact; none is part of this system yet).
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter

from common.problems import TooManyRequests


class RateLimited(TooManyRequests):
    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.headers = {"Retry-After": str(max(1, retry_after))}


class Limits:
    def __init__(self, sign_in_per_ip: str, sign_in_per_email: str, writes_per_user: str,
                 lockout_failures: int, lockout_seconds: int) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._sign_in_ip = parse(sign_in_per_ip)
        self._sign_in_email = parse(sign_in_per_email)
        self._writes = parse(writes_per_user)
        self._failures = parse(f"{lockout_failures}/{lockout_seconds} seconds")

    async def sign_in_attempt(self, ip: str, email: str) -> None:
        """Count an attempt; refuse it when the address or the email is over its limit, or locked."""
        email = email.strip().lower()
        if not await self._limiter.test(self._failures, "failures", email):
            raise RateLimited("Too many failed sign-ins for this email; try again later.",
                              await self._retry_after(self._failures, "failures", email))
        for item, key in ((self._sign_in_ip, ip), (self._sign_in_email, email)):
            if not await self._limiter.hit(item, "sign-in", key):
                raise RateLimited("Too many sign-in attempts; wait a moment.",
                                  await self._retry_after(item, "sign-in", key))

    async def sign_in_failed(self, email: str) -> None:
        await self._limiter.hit(self._failures, "failures", email.strip().lower())

    async def write(self, user_key: str) -> None:
        if not await self._limiter.hit(self._writes, "writes", user_key):
            retry_after = await self._retry_after(self._writes, "writes", user_key)
            raise RateLimited("Too many requests; slow down.", retry_after)

    async def _retry_after(self, item: RateLimitItem, *keys: str) -> int:
        reset_at, _ = await self._limiter.get_window_stats(item, *keys)
        return math.ceil(reset_at - time.time())
