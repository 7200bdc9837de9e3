"""An example subscriber to SMS Credits' ledger events: copy it, change `apply_event`, keep the rest.

It needs only aio-pika, aiohttp and the standard library. What it guarantees (README.md says more):

- Every event is applied at most once: an inbox (an sqlite3 file) keeps the id of each event applied,
  and per tenant the last `sequence` applied, in the same transaction as the event's effect. A copy that
  arrives again (a redelivery, a replay) finds its id there, or a sequence already passed, and changes
  nothing.
- No ledger event is lost: the ledger numbers each tenant's events 1, 2, 3, ... without gaps. An event
  numbered past the next one expected reveals that some never arrived (the subscriber was down longer than
  its queue kept them, or its queue was deleted); those are read from `GET /api/v1/events` and applied, in
  order, before the one that revealed the gap. A subscriber that starts today reads a tenant's history
  the same way (`catch_up`).

Run: `python subscriber.py` with the settings below in the environment (see `Settings.from_env`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import aio_pika
import aiohttp
from aio_pika.abc import AbstractIncomingMessage, AbstractQueue

NAMESPACE = "com.smscredits."
TRANSACTION_POSTED = NAMESPACE + "ledger.transaction.posted"
PAGE_LIMIT = 100
# How long a message whose gap could not be filled (the API unreachable) waits before it is handed back
# to the queue: a pause, not a tight loop of redeliveries.
RETRY_PAUSE_SECONDS = 2.0


@dataclass(frozen=True)
class Settings:
    broker_url: str
    exchange: str  # the system's topic exchange
    queue: str  # this subscriber's own queue: nobody else consumes from it
    routing_keys: tuple[str, ...]  # topic patterns: `ledger.#` is every ledger event
    gateway_url: str
    client_id: str  # an internal system's client (`python -m gateway service-client <id>`)
    client_secret: str
    inbox_path: str
    catch_up_tenants: tuple[str, ...]  # tenants to read up to date on start (a subscriber that starts today)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)

        def listed(name: str, default: str) -> tuple[str, ...]:
            return tuple(item.strip() for item in env.get(name, default).split(",") if item.strip())

        return cls(
            broker_url=env.get("BROKER_URL", "amqp://guest:guest@localhost:5672/"),
            exchange=env.get("EXCHANGE_NAME", "sms-credits"),
            queue=env.get("SUBSCRIBER_QUEUE", "example-subscriber"),
            routing_keys=listed("SUBSCRIBER_ROUTING_KEYS", "ledger.#"),
            gateway_url=env.get("GATEWAY_URL", "http://localhost:8080").rstrip("/"),
            client_id=env["SERVICE_CLIENT_ID"],
            client_secret=env["SERVICE_CLIENT_SECRET"],
            inbox_path=env.get("SUBSCRIBER_INBOX", "subscriber-inbox.sqlite3"),
            catch_up_tenants=listed("SUBSCRIBER_TENANTS", ""),
        )


def topic_matches(pattern: str, routing_key: str) -> bool:
    """RabbitMQ's topic rule: `*` is one word, `#` zero or more. Events read through the API arrive
    whatever the queue is bound to; this says which of them this subscriber wants."""

    def match(words: list[str], keys: list[str]) -> bool:
        if not words:
            return not keys
        if words[0] == "#":
            return any(match(words[1:], keys[skip:]) for skip in range(len(keys) + 1))
        return bool(keys) and words[0] in ("*", keys[0]) and match(words[1:], keys[1:])

    return match(pattern.split("."), routing_key.split("."))


def tenant_of(envelope: dict[str, Any]) -> str:
    """Every subject is `tenants/{tenant_id}/...`."""
    parts = str(envelope.get("subject") or "").split("/")
    if len(parts) >= 2 and parts[0] == "tenants":
        return parts[1]
    return str(envelope["data"]["tenant_id"])


class Inbox:
    """The subscriber's own state in one sqlite3 file: which events were applied, how far each tenant's
    stream was applied, and what applying them built (here: each account's balance)."""

    SCHEMA = """
        CREATE TABLE IF NOT EXISTS processed (
            event_id TEXT PRIMARY KEY, tenant_id TEXT, sequence INTEGER, type TEXT NOT NULL,
            via TEXT NOT NULL, wanted INTEGER NOT NULL);
        -- A second guard beside the id: one event per number of a tenant's stream.
        CREATE UNIQUE INDEX IF NOT EXISTS processed_sequence ON processed (tenant_id, sequence)
            WHERE sequence IS NOT NULL;
        CREATE TABLE IF NOT EXISTS streams (tenant_id TEXT PRIMARY KEY, last_sequence INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS balances (
            account_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, account_code TEXT NOT NULL,
            balance INTEGER NOT NULL);
    """

    def __init__(self, path: str) -> None:
        # Autocommit mode, with explicit transactions: each event's effect and its inbox row commit together.
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")  # readers (a report, a test) never block the writer
        self._db.executescript(self.SCHEMA)

    def close(self) -> None:
        self._db.close()

    def seen(self, event_id: str) -> bool:
        return self._db.execute("SELECT 1 FROM processed WHERE event_id = ?", (event_id,)).fetchone() is not None

    def last_sequence(self, tenant_id: str) -> int:
        row = self._db.execute("SELECT last_sequence FROM streams WHERE tenant_id = ?", (tenant_id,)).fetchone()
        return int(row[0]) if row else 0

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        # IMMEDIATE takes the write lock first, so the checks below hold until the commit even if two
        # processes ever shared this file.
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def apply(self, envelope: dict[str, Any], via: str, wanted: bool) -> bool:
        """Apply one event once: False (and nothing changes) if it was applied before, or if it is a
        sequenced event at or below the tenant's last applied number. A sequenced event must be the next
        number: the caller fills any gap first."""
        tenant = tenant_of(envelope)
        sequence = int(envelope["sequence"]) if envelope.get("sequence") is not None else None
        with self._transaction() as db:
            if self.seen(envelope["id"]):
                return False
            if sequence is not None:
                last = self.last_sequence(tenant)
                if sequence <= last:
                    return False
                if sequence != last + 1:
                    raise ValueError(f"tenants/{tenant}: #{sequence} applied after #{last}")
                db.execute("""INSERT INTO streams (tenant_id, last_sequence) VALUES (?, ?)
                              ON CONFLICT (tenant_id) DO UPDATE SET last_sequence = excluded.last_sequence""",
                           (tenant, sequence))
            db.execute("INSERT INTO processed VALUES (?, ?, ?, ?, ?, ?)",
                       (envelope["id"], tenant, sequence, envelope["type"], via, int(wanted)))
            if wanted:
                apply_event(db, tenant, envelope)
        return True


def apply_event(db: sqlite3.Connection, tenant: str, envelope: dict[str, Any]) -> None:
    """What this subscriber does with an event, inside the inbox's transaction. The example keeps each
    account's balance from the postings of `transaction.posted` (amount: + into the account, - out)."""
    if envelope["type"] == TRANSACTION_POSTED:
        for posting in envelope["data"]["postings"]:
            db.execute("""INSERT INTO balances (account_id, tenant_id, account_code, balance) VALUES (?, ?, ?, ?)
                          ON CONFLICT (account_id) DO UPDATE SET balance = balance + excluded.balance""",
                       (posting["account_id"], tenant, posting["account_code"], posting["amount"]))
    number = int(envelope["sequence"]) if envelope.get("sequence") is not None else "-"
    moved = "".join(f" {p['account_code']} {p['amount']:+d}" for p in envelope["data"].get("postings", []))
    print(f"applied tenants/{tenant} #{number} {envelope['type']}{moved}", flush=True)


class CatchUpFailed(Exception):
    """The API did not answer the events asked for; the event that needed them goes back to the queue."""


class Subscriber:
    def __init__(self, settings: Settings, inbox: Inbox, http: aiohttp.ClientSession) -> None:
        self.settings, self.inbox, self._http = settings, inbox, http
        self._token: tuple[float, str] | None = None  # (expires at, access token)

    def wants(self, event_type: str) -> bool:
        key = event_type.removeprefix(NAMESPACE)
        return any(topic_matches(pattern, key) for pattern in self.settings.routing_keys)

    async def _access_token(self) -> str:
        if self._token is None or self._token[0] <= time.monotonic():
            body = {"client_id": self.settings.client_id, "client_secret": self.settings.client_secret}
            async with self._http.post(f"{self.settings.gateway_url}/api/v1/auth/service-token", json=body) as r:
                if r.status != 200:
                    raise CatchUpFailed(f"service token refused: {r.status} {await r.text()}")
                answer = await r.json()
            # Renewed a minute early: never sent just as it expires.
            self._token = (time.monotonic() + answer["expires_in"] - 60, answer["access_token"])
        return self._token[1]

    async def events_after(self, tenant_id: str, after: int) -> dict[str, Any]:
        """One page of the tenant's events numbered after `after`."""
        params = {"tenant_id": tenant_id, "after_sequence": str(after), "limit": str(PAGE_LIMIT)}
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {await self._access_token()}"}
            async with self._http.get(f"{self.settings.gateway_url}/api/v1/events", params=params,
                                      headers=headers) as response:
                if response.status == 401 and attempt == 1:
                    self._token = None  # expired or revoked early: sign in again, once
                    continue
                if response.status != 200:
                    raise CatchUpFailed(f"GET /api/v1/events: {response.status} {await response.text()}")
                page: dict[str, Any] = await response.json()
                return page
        raise CatchUpFailed("GET /api/v1/events: the service token was refused twice")

    async def catch_up(self, tenant_id: str, through: int | None = None) -> int:
        """Apply the tenant's events after the last one applied, in order, up to `through` (None: up to
        the newest); answers how many were applied."""
        applied = 0
        after: int | None = self.inbox.last_sequence(tenant_id)
        while after is not None and (through is None or after < through):
            page = await self.events_after(tenant_id, after)
            for envelope in page["events"]:
                if through is not None and int(envelope["sequence"]) > through:
                    return applied
                applied += self.inbox.apply(envelope, "catch-up", self.wants(envelope["type"]))
            after = page["next_after_sequence"]
        return applied

    async def handle(self, envelope: dict[str, Any]) -> None:
        """One event from the queue."""
        if self.inbox.seen(envelope["id"]):
            print(f"duplicate {envelope['id']} ignored", flush=True)
            return
        if envelope.get("sequence") is not None:
            tenant, number = tenant_of(envelope), int(envelope["sequence"])
            last = self.inbox.last_sequence(tenant)
            if number <= last:
                print(f"tenants/{tenant} #{number} already applied, ignored", flush=True)
                return
            if number > last + 1:
                print(f"gap: tenants/{tenant} applied up to #{last}, #{number} arrived: catching up", flush=True)
                await self.catch_up(tenant, through=number - 1)
                if self.inbox.last_sequence(tenant) < number - 1:
                    raise CatchUpFailed(f"tenants/{tenant}: the API had no events up to #{number - 1} yet")
        self.inbox.apply(envelope, "live", self.wants(envelope["type"]))

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        try:
            envelope = json.loads(message.body)
        except ValueError:
            envelope = None
        if not isinstance(envelope, dict) or not {"id", "type", "data"} <= envelope.keys():
            print(f"not a CloudEvent, dropped: {message.body[:200]!r}", flush=True)
            await message.ack()  # redelivering it would never make it readable
            return
        try:
            await self.handle(envelope)
        except Exception as error:  # the API unreachable, say: the event waits in the queue, nothing is lost
            print(f"will retry {envelope['id']}: {error!r}", flush=True)
            await asyncio.sleep(RETRY_PAUSE_SECONDS)
            await message.nack(requeue=True)
            return
        await message.ack()

    async def declare_queue(self, channel: aio_pika.abc.AbstractChannel) -> AbstractQueue:
        """This subscriber's own durable quorum queue, bound for the routing keys it wants: it keeps
        events while the subscriber is down (as long as the broker keeps them; the API has the rest)."""
        exchange = await channel.declare_exchange(self.settings.exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue(self.settings.queue, durable=True,
                                            arguments={"x-queue-type": "quorum"})
        for key in self.settings.routing_keys:
            await queue.bind(exchange, routing_key=key)
        return queue

    async def run(self, stop: asyncio.Event) -> None:
        connection = await aio_pika.connect_robust(self.settings.broker_url)
        async with connection:
            channel = await connection.channel()
            await channel.set_qos(prefetch_count=50)
            # The queue first, then the catch-up: whatever is published meanwhile waits in the queue, and
            # arrives already applied.
            queue = await self.declare_queue(channel)
            for tenant in self.settings.catch_up_tenants:
                print(f"catch-up: tenants/{tenant} applied {await self.catch_up(tenant)}", flush=True)
            # One event at a time, in the order the queue holds them: the gap check relies on it.
            async with queue.iterator() as messages:
                print(f"listening on {self.settings.queue}", flush=True)
                consuming = asyncio.ensure_future(self._consume(messages))
                await stop.wait()
                consuming.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await consuming

    async def _consume(self, messages: aio_pika.abc.AbstractQueueIterator) -> None:
        async for message in messages:
            await self._on_message(message)


async def main() -> None:
    settings = Settings.from_env()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    inbox = Inbox(settings.inbox_path)
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
            await Subscriber(settings, inbox, http).run(stop)
    finally:
        inbox.close()
    print("stopped", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
