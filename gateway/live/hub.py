"""The connected streams of one gateway process and, per tenant, the last messages for resuming.

Every message gets an id `<boot>-<n>`: `boot` names this process's life (a random word drawn at start),
`n` counts every message this process handled, all tenants together, so ids never repeat within it and
order the messages. A reconnecting client sends the last id it saw (`Last-Event-ID`): if it is this
process's and nothing of its tenant was dropped from the buffer since, it is given what came after; an id
of another replica, of an earlier life of this one, or too old is unknown and the client is told to reset
(reload its state through the API), then carries on live.

Memory is bounded: a tenant's buffer keeps its last `buffer_size` messages and exists only while the
tenant has streams here, and for `idle_seconds` after its last one left (long enough to reconnect);
streams per process are capped, and per person (`PER_PERSON`, so that one person's tabs or a runaway
client cannot take every place of a replica); a stream whose client reads too slowly to keep `QUEUE_LIMIT`
messages queued is ended at once (it reconnects and resumes from the buffer, or resets).

Messages published while this process's bus connection was down never reached it: `restart` draws a new
`boot` (every id given so far becomes unknown) and ends every stream, so their clients reconnect, are told
to reset, and reload what they show.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from gateway.live.views import LiveMessage

QUEUE_LIMIT = 1000
# Streams one person may hold at once on a process: a few tabs and devices. More are refused (429) rather
# than ending the oldest, which would only have the tabs end each other in turn as each reconnects.
PER_PERSON = 5
# The `<n>` of an id: ASCII digits only (`str.isdigit` takes "²", which `int` refuses), at most 19 of them.
_NUMBER = re.compile(r"[0-9]{1,19}")


@dataclass(frozen=True)
class Entry:
    id: str
    n: int
    message: LiveMessage


@dataclass(eq=False)  # each stream is itself (kept in sets by identity)
class Stream:
    """One connected client: what the hub queued for it, and whether it was ended (too slow, the bus
    connection came back, or the process is stopping). `None` in the queue wakes the reader to look at
    `ended`."""

    tenant_id: uuid.UUID
    person_id: uuid.UUID
    queue: asyncio.Queue[Entry | None] = field(default_factory=lambda: asyncio.Queue(QUEUE_LIMIT + 1))
    ended: str | None = None

    def end(self, reason: str) -> None:
        """End at once: what is still queued is dropped rather than written first (a slow client would
        otherwise be sent up to `QUEUE_LIMIT` more messages); its client resumes from the buffer or resets."""
        if self.ended is None:
            self.ended = reason
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(None)


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
    """This process holds as many streams as it may."""


class TooManyOfPerson(Exception):
    """This person already holds `PER_PERSON` streams on this process."""


class Hub:
    def __init__(self, buffer_size: int, max_streams: int, idle_seconds: float = 300.0,
                 clock: Callable[[], float] = time.monotonic, per_person: int = PER_PERSON) -> None:
        self.buffer_size = buffer_size
        self.max_streams = max_streams
        self.per_person = per_person
        self.idle_seconds = idle_seconds
        self.boot = secrets.token_hex(4)
        self._clock = clock
        self._n = 0
        self._buffers: dict[uuid.UUID, _Buffer] = {}
        self._streams = 0
        self._of_person: dict[uuid.UUID, int] = {}

    @property
    def stream_count(self) -> int:
        return self._streams

    def follows(self, tenant_id: uuid.UUID) -> bool:
        """Whether a tenant's events are kept here: it has a stream here, or had one lately."""
        self._forget_idle()
        return tenant_id in self._buffers

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

    def open(self, tenant_id: uuid.UUID, person_id: uuid.UUID, last_event_id: str | None) -> Opened:
        """Register a stream, with what it missed since `last_event_id`. Everything that can refuse or
        fail comes before the stream is counted: the caller closes what this answers, and only that."""
        after = None if last_event_id is None else self._number_of(last_event_id)
        if self._streams >= self.max_streams:
            raise StreamsFull
        if self._of_person.get(person_id, 0) >= self.per_person:
            raise TooManyOfPerson
        self._forget_idle()
        buffer = self._buffers.get(tenant_id)
        if buffer is None:
            buffer = self._buffers[tenant_id] = _Buffer(deque(maxlen=self.buffer_size), dropped_upto=self._n)
        reset = last_event_id is not None and (after is None or not buffer.dropped_upto <= after <= self._n)
        backlog = [e for e in buffer.entries if e.n > after] if after is not None and not reset else []
        stream = Stream(tenant_id, person_id)
        buffer.streams.add(stream)
        buffer.idle_since = None
        self._streams += 1
        self._of_person[person_id] = self._of_person.get(person_id, 0) + 1
        return Opened(stream, backlog, reset)

    def close(self, stream: Stream) -> None:
        buffer = self._buffers.get(stream.tenant_id)
        if buffer is None or stream not in buffer.streams:
            return
        buffer.streams.discard(stream)
        self._streams -= 1
        left = self._of_person.pop(stream.person_id, 1) - 1
        if left:
            self._of_person[stream.person_id] = left
        if not buffer.streams:
            buffer.idle_since = self._clock()

    def restart(self, reason: str) -> None:
        """What was published lately may not have reached this process (its bus connection came back):
        no id given so far may be resumed from, and every stream ends so that its client resets."""
        self.boot = secrets.token_hex(4)
        for buffer in self._buffers.values():
            buffer.entries.clear()
            buffer.dropped_upto = self._n
        self.end_all(reason)

    def end_all(self, reason: str) -> None:
        for buffer in self._buffers.values():
            for stream in buffer.streams:
                stream.end(reason)

    def _number_of(self, last_event_id: str) -> int | None:
        boot, _, number = last_event_id.strip().partition("-")
        if boot != self.boot or not _NUMBER.fullmatch(number):
            return None
        return int(number)

    def _forget_idle(self) -> None:
        now = self._clock()
        idle = [t for t, b in self._buffers.items()
                if b.idle_since is not None and now - b.idle_since >= self.idle_seconds]
        for tenant_id in idle:
            del self._buffers[tenant_id]
