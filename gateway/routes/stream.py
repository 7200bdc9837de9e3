"""The live stream: Server-Sent Events of what the caller may see, as it happens (`gateway.live`)."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
from aiohttp import web

from common import permissions
from common.contracts import problems
from common.logs import get_logger
from common.problems import DependencyUnavailable, Forbidden, TooManyRequests, Unauthenticated
from common.runtime import DB
from gateway.live import stream
from gateway.live.feed import HUB
from gateway.live.hub import StreamsFull, TooManyOfPerson
from gateway.live.views import actor_of
from gateway.resources import SETTINGS
from gateway.routes.registry import api, caller_of
from gateway.schemas.live import LiveEvent
from gateway.usecases.auth import caller_from_token
from gateway.web.auth import Caller

log = get_logger(__name__)

# When a process is full, or the person holds as many streams as they may, how soon to try again (another
# replica may take the client meanwhile; one of the person's other tabs may have closed).
RETRY_AFTER_SECONDS = 5
# A check of the caller that takes longer than this is tried again at the next one.
RECHECK_TIMEOUT_SECONDS = 5.0


class PeopleOnly(Forbidden):
    problem = problems.LIVE_STREAM_PEOPLE_ONLY


class StreamsBusy(DependencyUnavailable):
    problem = problems.LIVE_STREAMS_FULL

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}


class TooManyStreams(TooManyRequests):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}


@api.route("GET", "/stream", "Live updates (Server-Sent Events): balances, holds, messages settled and purchases "
           "of the accounts I manage, as they happen; resumable with Last-Event-ID (see docs/live-stream.md)",
           answer=LiveEvent, content_type="text/event-stream", optional_headers=("Last-Event-ID",), tags=("live",),
           errors=(401, 403, 429))
async def live_stream(request: web.Request) -> web.StreamResponse:
    caller = caller_of(request)
    if caller.tenant is None:
        raise PeopleOnly("The live stream is for a tenant's people; internal systems subscribe to the bus or "
                         "to webhooks.")
    person = caller.person
    actor = actor_of(person.id, person.role, person.team, person.manage_credits)
    expires_at = stream.token_expiry(request.headers["Authorization"])
    hub = request.app[HUB]
    try:
        opened = hub.open(caller.tenant.id, person.id, request.headers.get("Last-Event-ID"))
    except StreamsFull:
        raise StreamsBusy("This server has as many live streams as it can hold; try again shortly.") from None
    except TooManyOfPerson:
        raise TooManyStreams(f"You have {hub.per_person} live streams open already (tabs or devices); close one, "
                             "or try again shortly.") from None
    try:
        return await stream.serve(request, opened, actor, expires_at, _still_allowed(request, caller),
                                  request.app[SETTINGS].live_recheck_seconds)
    finally:  # whatever ended it (aiohttp cancelling the handler too), the hub forgets it
        hub.close(opened.stream)


def _still_allowed(request: web.Request, caller: Caller) -> stream.Recheck:
    """The authentication middleware's own check of the token, made again: the stream may carry on only
    while it would still let this caller in as the same person, with the same rights, of the same tenant."""
    pool, secret = request.app[DB], request.app[SETTINGS].jwt_secret
    token = request.headers["Authorization"].removeprefix("Bearer ").strip()
    was = _rights_of(caller)

    async def still_allowed() -> bool:
        try:
            async with asyncio.timeout(RECHECK_TIMEOUT_SECONDS):
                now = await caller_from_token(pool, token, secret)
        except Unauthenticated:  # signed out, session ended, deactivated (or the token just expired)
            return False
        except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            # The directory cannot be asked just now: asked again at the next check (the token's expiry
            # still bounds the stream), rather than every stream ending and reconnecting at once.
            log.warning("live_recheck_failed", error=repr(exc)[:300])
            return True
        return _rights_of(now) == was

    return still_allowed


def _rights_of(caller: Caller) -> tuple[uuid.UUID | None, permissions.Actor]:
    """What decides what a caller's stream shows: their tenant, and who they are in it (a change of the
    tenant's name or credit mode is not one: the stream tells of the mode itself)."""
    person = caller.person
    return (caller.tenant.id if caller.tenant else None,
            actor_of(person.id, person.role, person.team, person.manage_credits))
