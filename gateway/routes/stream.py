"""The live stream: Server-Sent Events of what the caller may see, as it happens (`gateway.live`)."""

from __future__ import annotations

from aiohttp import web

from common.contracts import problems
from common.problems import DependencyUnavailable, Forbidden
from gateway.live import stream
from gateway.live.feed import HUB
from gateway.live.hub import StreamsFull
from gateway.live.views import actor_of
from gateway.routes.registry import api, caller_of
from gateway.schemas.live import LiveEvent

# When a process is full, how soon to try again (another replica may take the client meanwhile).
RETRY_AFTER_SECONDS = 5


class PeopleOnly(Forbidden):
    problem = problems.LIVE_STREAM_PEOPLE_ONLY


class StreamsBusy(DependencyUnavailable):
    problem = problems.LIVE_STREAMS_FULL

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}


@api.route("GET", "/stream", "Live updates (Server-Sent Events): balances, holds, messages settled and purchases "
           "of the accounts I manage, as they happen; resumable with Last-Event-ID (see docs/live-stream.md)",
           answer=LiveEvent, content_type="text/event-stream", optional_headers=("Last-Event-ID",), tags=("live",),
           errors=(401, 403))
async def live_stream(request: web.Request) -> web.StreamResponse:
    caller = caller_of(request)
    if caller.tenant is None:
        raise PeopleOnly("The live stream is for a tenant's people; internal systems subscribe to the bus or "
                         "to webhooks.")
    person = caller.person
    actor = actor_of(person.id, person.role, person.team, person.manage_credits)
    expires_at = stream.token_expiry(request.headers["Authorization"])
    try:
        opened = request.app[HUB].open(caller.tenant.id, request.headers.get("Last-Event-ID"))
    except StreamsFull:
        raise StreamsBusy("This server has as many live streams as it can hold; try again shortly.") from None
    return await stream.serve(request, request.app[HUB], opened, actor, expires_at)
