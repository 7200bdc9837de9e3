"""Saving clients bytes: a strong ETag on reads a client polls (its accounts), answered 304 when the
client's copy is current, and gzip for JSON and CSV answers when the client accepts it."""

from __future__ import annotations

import functools
import hashlib

from aiohttp import web
from aiohttp.web import ContentCoding

from common.web import Handler

# What is worth compressing: JSON (answers and problems) and the CSV export. PDFs are compressed already.
_COMPRESSIBLE = ("application/json", "application/problem+json", "text/csv")
_GZIP_SUFFIX = "-gzip"


def entity_tag(body: bytes) -> str:
    """A strong validator of the answer's bytes."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _client_tags(request: web.Request) -> set[str]:
    # The gzip variant's tag names the same representation before coding: it matches too.
    sent = request.headers.get("If-None-Match", "")
    tags = {tag.strip().removeprefix("W/") for tag in sent.split(",") if tag.strip()}
    return {tag.replace(_GZIP_SUFFIX + '"', '"') for tag in tags}


def with_etag(handler: Handler) -> Handler:
    """Tag a 200 answer; a client sending that tag back in If-None-Match gets 304 and no body."""

    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        response = await handler(request)
        if response.status != 200 or not isinstance(response, web.Response) or not isinstance(response.body, bytes):
            return response
        tag = entity_tag(response.body)
        # Stored, but checked again on every use: the balance a client shows must not be a stale one.
        cache = {"ETag": tag, "Cache-Control": "private, no-cache"}
        client_tags = _client_tags(request)
        if tag in client_tags or "*" in client_tags:
            # The tag of the representation a 200 would have carried: gzipped where the client takes it.
            if accepts_gzip(request):
                cache["ETag"] = gzip_tag(tag)
            return web.Response(status=304, headers=cache)
        response.headers.update(cache)
        return response

    return wrapper


async def gzip_when_accepted(request: web.Request, response: web.StreamResponse) -> None:
    """A response hook (it runs for streamed answers too, just before their headers are sent).

    aiohttp decides compression before the prepare hooks run, so `enable_compression()` would come too
    late here and is done by hand: the writer compresses as the body is written, a CSV still streams."""
    if (response.status < 200 or response.status in (204, 304) or "Content-Encoding" in response.headers
            or not accepts_gzip(request)
            or not response.headers.get("Content-Type", "").startswith(_COMPRESSIBLE)):
        return
    await response._do_start_compression(ContentCoding.gzip)  # private: see the docstring
    _vary_on_encoding(response)
    tag = response.headers.get("ETag")
    if tag is not None:
        response.headers["ETag"] = gzip_tag(tag)


def accepts_gzip(request: web.Request) -> bool:
    return "gzip" in request.headers.get("Accept-Encoding", "").lower()


def gzip_tag(tag: str) -> str:
    """Another representation (other bytes) must carry another strong tag."""
    return tag[:-1] + _GZIP_SUFFIX + '"' if tag.endswith('"') else tag


def _vary_on_encoding(response: web.StreamResponse) -> None:
    vary = response.headers.get("Vary")
    if vary is None or "accept-encoding" not in vary.lower():
        response.headers["Vary"] = f"{vary}, Accept-Encoding" if vary else "Accept-Encoding"
