"""One caller's stream: what the hub queues for their tenant, filtered to what they may see, written as
Server-Sent Events until their access token expires (so a person whose rights were taken away stops
receiving within a token's life; the client reconnects with a fresh token), the client goes, or the hub
ends it."""

from __future__ import annotations

import asyncio
import time
import uuid

import jwt
from aiohttp import web

from common import permissions
from gateway.live import sse
from gateway.live.hub import Entry, Hub, Opened
from gateway.live.views import may_see

HEADERS = {
    "Content-Type": "text/event-stream; charset=utf-8",
    # Never stored, and never held back by a proxy that buffers answers (nginx reads this header).
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
    "X-Content-Type-Options": "nosniff",
}
RESET = {"reason": "The messages since your Last-Event-ID are not available here: reload balances, holds and "
                   "messages through the API, then carry on with this stream."}


def token_expiry(authorization: str) -> float:
    """When the access token of this request expires (its `exp`, in seconds since the epoch). The
    authentication middleware has already verified the token; this only reads it."""
    claims = jwt.decode(authorization.removeprefix("Bearer ").strip(), options={"verify_signature": False})
    return float(claims["exp"])


async def serve(request: web.Request, hub: Hub, opened: Opened, actor: permissions.Actor,
                expires_at: float) -> web.StreamResponse:
    """Write the stream until it ends; the hub forgets it whatever happens."""
    stream = opened.stream
    response = web.StreamResponse(headers=HEADERS)
    try:
        await response.prepare(request)
        await response.write(sse.opening())
        if opened.reset:
            await response.write(sse.message("reset", RESET))
        for missed in opened.backlog:
            await _write(response, missed, actor, stream.tenant_id)
        while (left := expires_at - time.time()) > 0:
            try:
                entry = await asyncio.wait_for(stream.queue.get(), min(sse.HEARTBEAT_SECONDS, left))
            except TimeoutError:
                if expires_at - time.time() > 0:
                    await response.write(sse.PING)
                continue
            if entry is None:  # ended by the hub
                break
            await _write(response, entry, actor, stream.tenant_id)
        else:
            # Said before closing, so a client knows to renew its token rather than back off.
            await response.write(sse.message("token_expired", {"reason": "Reconnect with a fresh access token."}))
        return response
    except ConnectionError:
        # The client went away (the write found the connection closed): nothing is wrong, nothing to say.
        return response
    finally:  # whatever ended it (aiohttp cancelling the handler too)
        hub.close(stream)


async def _write(response: web.StreamResponse, entry: Entry, actor: permissions.Actor, tenant_id: uuid.UUID) -> None:
    if may_see(actor, tenant_id, entry.message):
        await response.write(sse.message(entry.message.name, entry.message.data, entry.id))
