"""One attempt: POST the envelope to the endpoint's URL, connecting only to addresses the SSRF guard
checked just now, following no redirect, within the time limit. Whatever happens is an `Outcome`."""

from __future__ import annotations

import time
from dataclasses import dataclass

import aiohttp

from common.problems import DomainError
from services.webhooks.targets.domain import parse_target
from services.webhooks.targets.resolver import PinnedResolver, checked_addresses

# Only the start of a receiver's answer is read (nothing of it is kept): a huge answer costs us nothing.
_ANSWER_READ_BYTES = 4096


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


async def post(url: str, body: bytes, headers: dict[str, str], *, allow_private: bool,
               time_limit: float) -> Outcome:
    started = time.monotonic()

    def took() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        addresses = await checked_addresses(parse_target(url), allow_private)
    except DomainError as refused:
        return Outcome(None, f"target refused: {refused.detail}"[:500], took())
    # A connector of this request's own: its resolver knows only the addresses just checked.
    connector = aiohttp.TCPConnector(resolver=PinnedResolver(addresses), use_dns_cache=False, force_close=True)
    try:
        async with aiohttp.ClientSession(connector=connector) as session, session.post(
            url, data=body, headers=headers, allow_redirects=False, timeout=aiohttp.ClientTimeout(total=time_limit),
        ) as response:
            await response.content.read(_ANSWER_READ_BYTES)
            status = response.status
    except TimeoutError:
        return Outcome(None, f"no answer within {time_limit:g} s", took())
    except aiohttp.ClientError as exc:
        return Outcome(None, f"connection failed: {type(exc).__name__}: {exc}"[:500], took())
    error = None if 200 <= status < 300 else f"the receiver answered {status}"
    return Outcome(status, error, took())
