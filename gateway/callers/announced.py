"""The directory changes the request being handled has announced (`gateway.directory.events.publish`), kept
for the request's end: the process that made a change applies it to its own caller cache as soon as the
request is answered, so the next request reaching it sees the change, as before there was a cache. (The other
replicas apply it when the event reaches them, which for this one could come after its client's next request.)

Applied at the end, not when announced: the transaction has committed by then, so no lookup made meanwhile can
put back what the change replaced."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

from common.contracts.events import Event

_ANNOUNCED: ContextVar[list[Event] | None] = ContextVar("announced_in_this_request", default=None)


def note(event: Event) -> None:
    """Outside a request (the seed, `python -m gateway announce`) there is nothing to note it for."""
    announced = _ANNOUNCED.get()
    if announced is not None:
        announced.append(event)


@contextlib.contextmanager
def collected() -> Iterator[list[Event]]:
    """What is announced within (the request's handling), filled in as it happens."""
    announced: list[Event] = []
    token = _ANNOUNCED.set(announced)
    try:
        yield announced
    finally:
        _ANNOUNCED.reset(token)
