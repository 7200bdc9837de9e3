"""Idempotent writes: a POST sent again with the same Idempotency-Key and body answers exactly what it
answered first (status, body, Content-Type and Location, plus `Idempotent-Replayed: true`), whatever
happened to the thing it created since; a different body under the same key is a 409.

Keys are scoped per caller and endpoint (method and route template): cleo reusing ben's key, or a key of
a transfer for a purchase, is a new request. The key handed down to the services is derived from that
scope (sha256), so their own idempotency is scoped the same way, and a crash between a service's success
and the store here still replays safely: the retry reaches the service under the same key.

Rules, decided here and stated in the README:
- Stored: the answers that report what the write decided: 2xx, 409, 410 and 422. Not stored: a refusal
  before anything was decided (400, 401, 403, 404, 405, 413, 415, 429: fix the request, the token or the
  pace and the retry is taken afresh) and every 5xx (a dependency was down; the retry goes through).
- A second request while the first is in flight is not made to wait (that would hold a connection and a
  worker for as long as the first takes): it answers 409 `idempotency-request-in-progress` with
  Retry-After. A claim whose request died with its process is taken over once no live request can
  hold it (after REQUEST_TIMEOUT_SECONDS and a margin).
- Entries are kept a day (`KEEP`), then purged by a periodic job.
- Claims and answers commit without waiting for the disk (common.db.ASYNC_COMMIT): what a Postgres crash
  could lose of them is repaired by the services' own idempotency under the derived key, as above.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import timedelta

import asyncpg
from aiohttp import web

from common.contracts import problems
from common.db import ASYNC_COMMIT
from common.idempotency import request_fingerprint
from common.problems import Conflict, DomainError
from common.runtime import DB
from common.web import IDEMPOTENCY_KEY, Handler, from_error, idempotency_key
from gateway.resources import SETTINGS
from gateway.web.middleware import CALLER

REPLAYED_HEADER = "Idempotent-Replayed"
KEEP = timedelta(hours=24)
# Longer than the gateway's own request time limit (30 s by default): a claim older than this has no
# request behind it any more.
# Every request is cut at REQUEST_TIMEOUT_SECONDS (the time-limit middleware), and a cut or failed request
# hands its claim back; so a claim older than that and a margin belongs to a process that died with it.
CLAIM_MARGIN = timedelta(seconds=5)
PURGE_SECONDS = 3600.0
RETRY_AFTER_SECONDS = "1"
_STORED_ERRORS = frozenset({409, 410, 422})
_REPLAYED_HEADERS = ("Content-Type", "Location")


class IdempotencyKeyReused(Conflict):
    problem = problems.IDEMPOTENCY_KEY_REUSED


class RequestInProgress(Conflict):
    problem = problems.IDEMPOTENCY_REQUEST_IN_PROGRESS

    def __init__(self) -> None:
        super().__init__("A request with this Idempotency-Key is still in progress; retry in a moment.")
        self.headers = {"Retry-After": RETRY_AFTER_SECONDS}


@dataclass(frozen=True)
class Scope:
    """Whose key, for which endpoint."""

    caller_id: uuid.UUID
    endpoint: str
    key: str

    def derived_key(self) -> str:
        """The key passed down to the services: the same scope always gives the same key."""
        return hashlib.sha256(f"{self.caller_id}\n{self.endpoint}\n{self.key}".encode()).hexdigest()


@dataclass(frozen=True)
class Stored:
    request_hash: bytes
    status: int | None  # None: the first request is still in flight
    headers: dict[str, str]
    body: bytes


def is_final(status: int) -> bool:
    """Whether an answer is kept and replayed (the rules above)."""
    return 200 <= status < 300 or status in _STORED_ERRORS


def request_hash(path: str, raw: bytes) -> bytes:
    """The request's meaning: its path (the key is scoped to the route's template, so a refund of another
    purchase under the same key is another request) and its body, where JSON that differs only in key
    order or spacing is the same body."""
    try:
        body = request_fingerprint(json.loads(raw)) if raw else ""
    except (ValueError, RecursionError):
        body = hashlib.sha256(raw).hexdigest()
    return hashlib.sha256(f"{path}\n{body}".encode()).digest()


def idempotent(handler: Handler) -> Handler:
    """Wrap a write that takes an Idempotency-Key (required or optional: without one it runs as is)."""

    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        if "Idempotency-Key" not in request.headers or CALLER not in request:
            return await handler(request)
        resource = request.match_info.route.resource
        template = resource.canonical if resource is not None else request.path
        scope = Scope(request[CALLER].person.id, f"{request.method} {template}", idempotency_key(request))
        request[IDEMPOTENCY_KEY] = scope.derived_key()
        fingerprint = request_hash(request.path, await request.read())
        pool = request.app[DB]
        lease = timedelta(seconds=request.app[SETTINGS].request_timeout) + CLAIM_MARGIN
        stored = await claim(pool, scope, fingerprint, lease)
        if stored is not None:
            return replay(stored, fingerprint)
        return await _answer_first(request, handler, pool, scope)

    return wrapper


def replay(stored: Stored, fingerprint: bytes) -> web.Response:
    if stored.request_hash != fingerprint:
        raise IdempotencyKeyReused("This Idempotency-Key was already used for a different request.")
    if stored.status is None:
        raise RequestInProgress()
    return web.Response(body=stored.body, status=stored.status, headers={**stored.headers, REPLAYED_HEADER: "true"})


async def _answer_first(request: web.Request, handler: Handler, pool: asyncpg.Pool, scope: Scope) -> web.StreamResponse:
    try:
        response = await handler(request)
    except DomainError as error:
        response = from_error(error)
    except BaseException:
        # Not an answer (a bug, a timeout, a cancelled request): the claim goes, so a retry runs again.
        await asyncio.shield(release(pool, scope))
        raise
    if isinstance(response, web.Response) and isinstance(response.body, bytes) and is_final(response.status):
        headers = {name: response.headers[name] for name in _REPLAYED_HEADERS if name in response.headers}
        await asyncio.shield(record(pool, scope, response.status, headers, response.body))
    else:
        await asyncio.shield(release(pool, scope))
    return response


async def claim(pool: asyncpg.Pool, scope: Scope, fingerprint: bytes, lease: timedelta) -> Stored | None:
    """Claim the key for this request (None), or what is stored under it. A claim abandoned by a dead
    request with the same body, or an entry past its day not yet purged, is taken over."""
    for _ in range(3):  # the row may be released between the insert's conflict and the read
        claimed = await pool.fetchval(
            ASYNC_COMMIT + """
               INSERT INTO idempotent_requests (caller_id, endpoint, key, request_hash)
               SELECT $1, $2, $3, $4 FROM async_commit
               ON CONFLICT (caller_id, endpoint, key) DO UPDATE
                   SET request_hash = EXCLUDED.request_hash, status = NULL, headers = NULL, body = NULL,
                       created_at = now()
                   WHERE idempotent_requests.created_at < now() - $6::interval
                      OR (idempotent_requests.status IS NULL
                          AND idempotent_requests.request_hash = EXCLUDED.request_hash
                          AND idempotent_requests.created_at < now() - $5::interval)
               RETURNING true""",  # noqa: S608 - constants
            scope.caller_id, scope.endpoint, scope.key, fingerprint, lease, KEEP,
        )
        if claimed:
            return None
        row = await pool.fetchrow(
            "SELECT request_hash, status, headers, body FROM idempotent_requests"
            " WHERE caller_id = $1 AND endpoint = $2 AND key = $3",
            scope.caller_id, scope.endpoint, scope.key,
        )
        if row is not None:
            headers = json.loads(row["headers"]) if row["headers"] is not None else {}
            return Stored(bytes(row["request_hash"]), row["status"], headers, bytes(row["body"] or b""))
    raise RequestInProgress()


async def record(pool: asyncpg.Pool, scope: Scope, status: int, headers: dict[str, str], body: bytes) -> None:
    await pool.execute(
        ASYNC_COMMIT + " UPDATE idempotent_requests SET status = $4, headers = $5::jsonb, body = $6"  # noqa: S608
        " FROM async_commit WHERE caller_id = $1 AND endpoint = $2 AND key = $3",
        scope.caller_id, scope.endpoint, scope.key, status, json.dumps(headers), body,
    )


async def release(pool: asyncpg.Pool, scope: Scope) -> None:
    await pool.execute(
        ASYNC_COMMIT + " DELETE FROM idempotent_requests USING async_commit"  # noqa: S608 - constants
        " WHERE caller_id = $1 AND endpoint = $2 AND key = $3 AND status IS NULL",
        scope.caller_id, scope.endpoint, scope.key,
    )


async def purge(app: web.Application) -> None:
    """Drop the entries past their day (a step for common.runtime.periodic)."""
    await app[DB].execute("DELETE FROM idempotent_requests WHERE created_at < now() - $1::interval", KEEP)
