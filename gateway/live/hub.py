"""The connected streams of one gateway process and, per tenant, the last messages for resuming.

Every message gets an id `<boot>-<n>`: `boot` names this process's life (a random word drawn at start),
`n` counts every message this process handled, all tenants together, so ids never repeat within it and
order the messages. A reconnecting client sends the last id it saw (`Last-Event-ID`): if it is this
process's and nothing of its tenant was dropped from the buffer since, it is given what came after; an id
of another replica, of an earlier life of this one, or too old is unknown and the client is told to reset
(reload its state through the API), then carries on live.

Memory is bounded: a tenant's buffer keeps its last `buffer_size` messages and exists only while the
tenant has streams here, and for `idle_seconds` after its last one left (long enough to reconnect);
streams per process are capped; a stream whose client reads too slowly to keep `QUEUE_LIMIT` messages
queued is ended (it reconnects and resumes from the buffer, or resets).
"""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from gateway.live.views import LiveMessage

QUEUE_LIMIT = 1000


@dataclass(frozen=True)
class Entry:
    id: str
    n: int
    message: LiveMessage


@dataclass(eq=False)  # each stream is itself (kept in sets by identity)
class Stream:
    """One connected client: what the hub queued for it, and whether it was ended (too slow, or the
    process is stopping). `None` in the queue wakes the reader to look at `ended`."""

    tenant_id: uuid.UUID
    queue: asyncio.Queue[Entry | None] = field(default_factory=lambda: asyncio.Queue(QUEUE_LIMIT + 1))
    ended: str | None = None

    def end(self, reason: str) -> None:
        if self.ended is None:
            self.ended = reason
            self.queue.put_nowait(None)  # the one place kept free for it


@dataclass
class _Buffer:
    entries: deque[Entry]
    dropped_upto: int  # every message of the tenant after this n is in `entries` (it started, or evicted, here)
    streams: set[Stream] = field(default_factory=set)
    idle_since: float | None = None


@dataclass(frozen=True)
class Opened:
    stream: Stream
    backlog: list[Entry]  # what came after the client's Last-Event-ID
    reset: bool  # the Last-Event-ID was unknown: the client must reload its state


class StreamsFull(Exception):
    pass


class Hub:
    def __init__(self, buffer_size: int, max_streams: int, idle_seconds: float = 300.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.buffer_size = buffer_size
        self.max_streams = max_streams
        self.idle_seconds = idle_seconds
        self.boot = secrets.token_hex(4)
        self._clock = clock
        self._n = 0
        self._buffers: dict[uuid.UUID, _Buffer] = {}
        self._streams = 0

    @property
    def stream_count(self) -> int:
        return self._streams

    def publish(self, tenant_id: uuid.UUID, messages: list[LiveMessage]) -> None:
        """Number the messages, keep them for resuming and queue them for the tenant's streams here. A
        tenant with no stream here (nor recently) is not followed: nobody could resume from it."""
        self._forget_idle()
        buffer = self._buffers.get(tenant_id)
        for message in messages:
            self._n += 1
            if buffer is None:
                continue
            entry = Entry(f"{self.boot}-{self._n}", self._n, message)
            if len(buffer.entries) == buffer.entries.maxlen:
                buffer.dropped_upto = buffer.entries[0].n
            buffer.entries.append(entry)
            for stream in list(buffer.streams):
                if stream.queue.qsize() >= QUEUE_LIMIT:
                    stream.end("slow")
                elif stream.ended is None:
                    stream.queue.put_nowait(entry)

    def open(self, tenant_id: uuid.UUID, last_event_id: str | None) -> Opened:
        if self._streams >= self.max_streams:
            raise StreamsFull
        self._forget_idle()
        buffer = self._buffers.get(tenant_id)
        if buffer is None:
            buffer = self._buffers[tenant_id] = _Buffer(deque(maxlen=self.buffer_size), dropped_upto=self._n)
        stream = Stream(tenant_id)
        buffer.streams.add(stream)
        buffer.idle_since = None
        self._streams += 1
        if last_event_id is None:
            return Opened(stream, [], reset=False)
        after = self._number_of(last_event_id)
        if after is None or not buffer.dropped_upto <= after <= self._n:
            return Opened(stream, [], reset=True)
        return Opened(stream, [e for e in buffer.entries if e.n > after], reset=False)

    def close(self, stream: Stream) -> None:
        buffer = self._buffers.get(stream.tenant_id)
        if buffer is None or stream not in buffer.streams:
            return
        buffer.streams.discard(stream)
        self._streams -= 1
        if not buffer.streams:
            buffer.idle_since = self._clock()

    def end_all(self, reason: str) -> None:
        for buffer in self._buffers.values():
            for stream in buffer.streams:
                stream.end(reason)

    def _number_of(self, last_event_id: str) -> int | None:
        boot, _, number = last_event_id.strip().partition("-")
        if boot != self.boot or not number.isdigit() or len(number) > 19:
            return None
        return int(number)

    def _forget_idle(self) -> None:
        now = self._clock()
        idle = [t for t, b in self._buffers.items()
                if b.idle_since is not None and now - b.idle_since >= self.idle_seconds]
        for tenant_id in idle:
            del self._buffers[tenant_id]
