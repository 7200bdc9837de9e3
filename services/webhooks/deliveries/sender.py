"""One attempt: POST the envelope to the endpoint's URL, connecting only to addresses the SSRF guard
checked just now, following no redirect, within the time limit. Whatever happens is an `Outcome`.

An outcome's error is logged and stored, so it never holds the URL's path or query (a receiver's
credential may be there): `failure` cuts them out of any message."""

from __future__ import annotations

import time
from dataclasses import dataclass

import aiohttp

from common.problems import DomainError
from services.webhooks.deliveries.domain import without_url_secrets
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
        return Outcome(None, without_url_secrets(f"target refused: {refused.detail}", url)[:500], took())
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
    except aiohttp.ClientError as exc:  # a refused connection, a malformed answer (ClientResponseError), ...
        return Outcome(None, failure("connection failed", exc, url), took())
    error = None if 200 <= status < 300 else f"the receiver answered {status}"
    return Outcome(status, error, took())


def failure(what: str, exc: BaseException, url: str) -> str:
    """`what` happened, with the exception's type and message, minus the URL's path and query (aiohttp's
    ClientResponseError and InvalidURL quote the whole URL)."""
    return without_url_secrets(f"{what}: {type(exc).__name__}: {exc}", url)[:500]
