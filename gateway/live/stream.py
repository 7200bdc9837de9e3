"""One caller's stream: what the hub queues for their tenant, filtered to what they may see, written as
Server-Sent Events until their access token expires, the caller may no longer stream as they were (checked
again every few seconds, as every request checks it: a sign-out, a session ended, a deactivation or a
change of role, team or manage_credits ends the stream), the client goes, or the hub ends it. The first two
say `token_expired` before closing: the client reconnects with a fresh token, and is refused or sees what
its new rights allow."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable

import jwt
from aiohttp import web

from common import permissions
from gateway.live import sse
from gateway.live.hub import Entry, Opened, Stream
from gateway.live.views import may_see

HEADERS = {
    "Content-Type": "text/event-stream; charset=utf-8",
    # Never stored, and never held back by a proxy that buffers answers (nginx reads this header).
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
    "X-Content-Type-Options": "nosniff",
}
# Answers whether the caller may still stream as they did when it opened (same session, active, same rights).
Recheck = Callable[[], Awaitable[bool]]
EXPIRED = "Reconnect with a fresh access token."
REVOKED = ("Your session ended or your rights changed: reconnect with a fresh access token (or sign in again) "
           "to carry on with what you may now see.")
RESET = {"reason": "The messages since your Last-Event-ID are not available here: reload balances, holds and "
                   "messages through the API, then carry on with this stream."}


def token_expiry(authorization: str) -> float:
    """When the access token of this request expires (its `exp`, in seconds since the epoch). The
    authentication middleware has already verified the token; this only reads it."""
    claims = jwt.decode(authorization.removeprefix("Bearer ").strip(), options={"verify_signature": False})
    return float(claims["exp"])


async def serve(request: web.Request, opened: Opened, actor: permissions.Actor, expires_at: float,
                still_allowed: Recheck, recheck_seconds: float) -> web.StreamResponse:
    """Write the stream until it ends (the caller closes it in the hub, whatever happens)."""
    stream = opened.stream
    response = web.StreamResponse(headers=HEADERS)
    try:
        await response.prepare(request)
        await response.write(sse.opening())
        if opened.reset:
            await response.write(sse.message("reset", RESET))
        for missed in opened.backlog:
            await _write(response, missed, actor, stream.tenant_id)
        reason = await _follow(response, stream, actor, expires_at, still_allowed, recheck_seconds)
        if reason is not None:
            # Said before closing, so a client knows to renew its token (or sign in again) rather than back off.
            await response.write(sse.message("token_expired", {"reason": reason}))
        return response
    except ConnectionError:
        # The client went away (the write found the connection closed): nothing is wrong, nothing to say.
        return response


async def _follow(response: web.StreamResponse, stream: Stream, actor: permissions.Actor, expires_at: float,
                  still_allowed: Recheck, recheck_seconds: float) -> str | None:
    """Write what the hub queues until the stream ends: the reason to tell the client when the token
    expired or the caller may no longer stream as they were, None when the hub ended it (the client just
    reconnects). The caller is checked again every `recheck_seconds`, however busy the stream is."""
    next_check = time.monotonic() + recheck_seconds
    while (left := expires_at - time.time()) > 0:
        wait = min(sse.HEARTBEAT_SECONDS, left, max(next_check - time.monotonic(), 0.0))
        idle = False
        try:
            entry = await asyncio.wait_for(stream.queue.get(), wait)
        except TimeoutError:
            entry, idle = None, True
        if time.monotonic() >= next_check:
            if not await still_allowed():
                return REVOKED
            next_check = time.monotonic() + recheck_seconds
        if idle:
            if expires_at - time.time() > 0:
                await response.write(sse.PING)
        elif entry is None:  # ended by the hub
            return None
        else:
            await _write(response, entry, actor, stream.tenant_id)
    return EXPIRED


async def _write(response: web.StreamResponse, entry: Entry, actor: permissions.Actor, tenant_id: uuid.UUID) -> None:
    if may_see(actor, tenant_id, entry.message):
        await response.write(sse.message(entry.message.name, entry.message.data, entry.id))
