"""The transport under every typed client: calls from the gateway to a service, each carrying a freshly
signed identity and the request id.

A service's 4xx answer is passed on to the client as it is (the service knows best why); a service
that cannot be reached, or answers 5xx, is a 503 to the client, never a 500.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any, NamedTuple, TypeVar

import aiohttp
from pydantic import BaseModel
from yarl import URL

from common.contracts.problems import ProblemType
from common.identity import DEFAULT_TTL_SECONDS, Identity, issue_internal_token
from common.logs import current_request_id, get_logger
from common.problems import DependencyUnavailable, DomainError
from common.web import REQUEST_ID_HEADER

log = get_logger(__name__)

INTERNAL_TOKEN_TTL = DEFAULT_TTL_SECONDS
_MAX_CACHED_TOKENS = 10_000
_JSON = {"Content-Type": "application/json"}
ModelT = TypeVar("ModelT", bound=BaseModel)


def as_json(model: BaseModel, *, exclude_none: bool = False) -> bytes:
    """A request body encoded once, by the model's own serializer: no dict, no second JSON library."""
    return model.model_dump_json(exclude_none=exclude_none).encode()


class UpstreamProblem(DomainError):
    """A problem answered by a service, relayed to the client unchanged: its status, type, title,
    detail and errors are the service's (`common.web.status_of` honours the `status` relayed here)."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        slug = str(body.get("type", "/problems/error")).rsplit("/", 1)[-1]
        super().__init__(str(body.get("detail", "")), errors=body.get("errors"),
                         problem=ProblemType(slug, str(body.get("title", "Error"))))
        self.status = status


class ServiceNotReached(DependencyUnavailable):
    """No connection to the service could be opened: unlike a timeout, the request certainly did not
    reach it, so nothing it would have done has happened."""


class Answer(NamedTuple):
    """A service's successful answer, as sent: for what the gateway hands on without reading (a PDF)."""

    status: int
    body: bytes
    content_type: str


class ServiceClient:
    def __init__(
        self, name: str, base_url: str, secret: str, session: aiohttp.ClientSession, timeout: float
    ) -> None:
        self.name = name
        self._base = URL(base_url)
        self._secret = secret
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._tokens: dict[Identity, tuple[float, str]] = {}

    def _token(self, identity: Identity) -> str:
        """A signed identity token, reused for the same identity during the first half of its life:
        signing one per call was a twentieth of the gateway's CPU. The cache is bounded: it is emptied
        when it holds more identities than a busy half-minute brings."""
        now = time.monotonic()
        found = self._tokens.get(identity)
        if found is not None and found[0] > now:
            return found[1]
        if len(self._tokens) >= _MAX_CACHED_TOKENS:
            self._tokens.clear()
        token = issue_internal_token(identity, self._secret, self.name, ttl=INTERNAL_TOKEN_TTL)
        self._tokens[identity] = (now + INTERNAL_TOKEN_TTL / 2, token)
        return token

    def _headers(self, identity: Identity | None, extra: dict[str, str] | None) -> dict[str, str]:
        headers = {"Authorization": "Bearer " + self._token(identity)} if identity is not None else {}
        request_id = current_request_id()
        if request_id:
            headers[REQUEST_ID_HEADER] = request_id
        headers.update(extra or {})
        return headers

    def _unavailable(self) -> DependencyUnavailable:
        return DependencyUnavailable(f"The {self.name} service is unavailable; please try again shortly.")

    async def call(
        self,
        method: str,
        path: str,
        identity: Identity,
        *,
        query: Any = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """A JSON call; answers the decoded body or raises the service's problem."""
        answer = await self.raw(method, path, identity, query=query, body=body, headers=headers)
        return json.loads(answer.body) if answer.body else None

    async def call_as(
        self,
        answer: type[ModelT],
        method: str,
        path: str,
        identity: Identity,
        *,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> ModelT:
        """A JSON call on a hot path: the body as `as_json` encoded it, the answer validated straight from its
        bytes (a quarter of the CPU of decoding to a dict, then validating the dict)."""
        return answer.model_validate_json((await self.send(method, path, identity, content, headers=headers)).body)

    async def send(
        self, method: str, path: str, identity: Identity, content: bytes | None, *,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        """A call whose JSON body is encoded already (`as_json`); answers the service's answer as sent."""
        return await self.raw(method, path, identity, content=content,
                              headers={**_JSON, **(headers or {})} if content is not None else headers)

    async def raw(
        self,
        method: str,
        path: str,
        identity: Identity,
        *,
        query: Any = None,
        body: Any = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        """Any call; answers (status, body, content type) for a success, raises otherwise. The body is `body`
        as JSON, or `content` as it is."""
        try:
            async with self._session.request(
                method, self._base.join(URL(path)), params=query, json=body, data=content,
                headers=self._headers(identity, headers), timeout=self._timeout,
            ) as response:
                payload = await response.read()
                if response.status < 400:
                    return Answer(response.status, payload, response.content_type)
                if response.status < 500:
                    raise UpstreamProblem(response.status, _problem(payload))
                log.warning("service_error", service=self.name, status=response.status, path=path)
        except aiohttp.ClientConnectorError as exc:
            log.warning("service_unreachable", service=self.name, path=path, error=repr(exc))
            raise ServiceNotReached(f"The {self.name} service is unavailable; please try again shortly.") from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("service_unreachable", service=self.name, path=path, error=repr(exc))
        raise self._unavailable()

    @contextlib.asynccontextmanager
    async def stream(
        self, path: str, identity: Identity, *, query: Any = None, first_byte_seconds: float | None = None
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """A GET whose body is read by the caller chunk by chunk (a large CSV), never held whole.
        `first_byte_seconds`: how long the service may think before it answers (a PDF drawn whole first)."""
        try:
            async with self._session.get(
                self._base.join(URL(path)), params=query, headers=self._headers(identity, None),
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=self._timeout.total,
                                              sock_read=first_byte_seconds or self._timeout.total),
            ) as response:
                if 400 <= response.status < 500:
                    raise UpstreamProblem(response.status, _problem(await response.read()))
                if response.status >= 500:
                    raise self._unavailable()
                yield response
        except (aiohttp.ClientConnectionError, TimeoutError) as exc:
            log.warning("service_unreachable", service=self.name, path=path, error=repr(exc))
            raise self._unavailable() from exc

    async def forward(self, path: str, body: bytes, headers: dict[str, str], *, unavailable: str) -> Answer:
        """POST exact bytes, with no identity of the gateway's, and answer whatever the service answered
        below 500 (its 4xx included, as it is); a 5xx or no answer raises DependencyUnavailable with
        the `unavailable` detail. For a caller whose signature covers the exact body (a webhook)."""
        try:
            async with self._session.post(
                self._base.join(URL(path)), data=body, headers=self._headers(None, headers), timeout=self._timeout
            ) as response:
                payload = await response.read()
                if response.status < 500:
                    return Answer(response.status, payload, response.content_type)
        except (aiohttp.ClientError, TimeoutError):
            pass
        raise DependencyUnavailable(unavailable)

    async def ready(self) -> None:
        async with self._session.get(self._base.join(URL("/readyz")), timeout=self._timeout) as response:
            if response.status != 200:
                raise ConnectionError(f"{self.name} not ready")


class TypedClient:
    """What every typed client shares: the transport to its service, and its readiness."""

    def __init__(self, transport: ServiceClient) -> None:
        self._service = transport

    async def ready(self) -> None:
        await self._service.ready()


def _problem(payload: bytes) -> dict[str, Any]:
    try:
        body = json.loads(payload)
        return body if isinstance(body, dict) else {}
    except ValueError:
        return {}
