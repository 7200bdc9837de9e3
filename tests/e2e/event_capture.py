"""Every event the system publishes during the end-to-end tests, checked against its published JSON Schema.

A subscriber's view: a queue of our own (exclusive, gone with the connection) bound to the run's exchange
with `#` takes a copy of every message, whoever consumes it. At the end each body is validated against
`event_schema(type)` (the same schema `/api/events/schemas/{type}.json` serves); a body that is not JSON,
names a type the catalogue does not hold, travels on a routing key other than its type's, or breaks its
schema is a violation, listed readably."""

from __future__ import annotations

import functools
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aio_pika
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection
from jsonschema import Draft7Validator, FormatChecker

from common.contracts import events
from common.contracts.asyncapi import event_schema
from common.contracts.catalogue import CATALOGUE

# The whole package run (`make test`, `make e2e`) covers purchases, transfers, messages, refunds and the
# directory: fewer kinds of events than this means the capture saw next to nothing.
MIN_TYPES_WHOLE_RUN = 5
_SHOWN = 30  # violations listed in full; the rest are counted


@functools.cache
def _validator(event_type: str) -> Draft7Validator:
    return Draft7Validator(event_schema(event_type), format_checker=FormatChecker())


def violations_of(body: bytes, routing_key: str) -> list[str]:
    """What is wrong with one message as a subscriber receives it (empty when nothing is)."""
    try:
        envelope = json.loads(body)
    except ValueError as exc:
        return [f"not JSON ({exc}): {body[:120]!r}"]
    event_type = envelope.get("type") if isinstance(envelope, dict) else None
    if not isinstance(event_type, str) or event_type not in CATALOGUE:
        return [f"unknown type {event_type!r} on {routing_key!r}: no schema describes it"]
    where = f"{event_type} {envelope.get('id')}"
    found = []
    if routing_key != events.routing_key(event_type):
        found.append(f"{where}: published on {routing_key!r}, not its type's routing key")
    for error in sorted(_validator(event_type).iter_errors(envelope), key=lambda e: list(e.absolute_path)):
        path = "/".join(map(str, error.absolute_path)) or "(envelope)"
        found.append(f"{where}: {path}: {error.message[:300]}")
    return found


@dataclass
class Captured:
    body: bytes
    routing_key: str


@dataclass
class EventCapture:
    broker_url: str
    exchange: str
    messages: list[Captured] = field(default_factory=list)
    _connection: AbstractRobustConnection | None = None

    async def start(self) -> None:
        self._connection = await aio_pika.connect_robust(self.broker_url)
        channel = await self._connection.channel()
        exchange = await channel.get_exchange(self.exchange)
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(exchange, routing_key="#")
        await queue.consume(self._keep, no_ack=True)

    async def _keep(self, message: AbstractIncomingMessage) -> None:
        self.messages.append(Captured(message.body, message.routing_key or ""))

    async def stop(self) -> None:
        if self._connection is not None:
            await self._connection.close()

    def types_seen(self) -> Counter[str]:
        seen: Counter[str] = Counter()
        for message in self.messages:
            try:
                envelope = json.loads(message.body)
            except ValueError:
                continue
            if isinstance(envelope, dict) and isinstance(envelope.get("type"), str):
                seen[envelope["type"]] += 1
        return seen

    def problems(self, min_types: int) -> str | None:
        """A readable account of every violation, or None when every event kept its contract."""
        found = [v for message in self.messages for v in violations_of(message.body, message.routing_key)]
        seen = self.types_seen()
        lines = []
        if found:
            lines.append(f"{len(found)} violation(s) of the published event schemas in {len(self.messages)} events:")
            lines += [f"  - {violation}" for violation in found[:_SHOWN]]
            if len(found) > _SHOWN:
                lines.append(f"  ... and {len(found) - _SHOWN} more")
        if len(seen) < min_types:
            lines.append(f"only {len(seen)} event type(s) seen ({', '.join(sorted(seen)) or 'none'}); expected at "
                         f"least {min_types}: is the capture bound to the exchange {self.exchange!r}?")
        return "\n".join(lines) or None


def whole_package_ran(test_paths: list[Path], package: Path) -> bool:
    """Whether every test module of the package is among those collected: only then is a minimum of event
    types fair to ask (one test file alone may cause no event at all)."""
    modules = {path.resolve() for path in package.glob("test_*.py")}
    return modules <= {path.resolve() for path in test_paths}
