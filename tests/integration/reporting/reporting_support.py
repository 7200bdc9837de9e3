"""Helpers for the reporting integration tests: a stand-in for the ledger that publishes real
`ledger.transaction.posted` events, and a way to ask the running service for the log.

A plain module (not the conftest) so test modules can import its names."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import aio_pika
import asyncpg
from aiohttp import web
from aiohttp.test_utils import TestClient

from common import accounts
from common.bus import Broker
from common.contracts import events
from common.contracts.events import (
    TENANT_CHANGED,
    TRANSACTION_POSTED,
    USER_CHANGED,
    Event,
    HoldChange,
    Posting,
    TenantChanged,
    TransactionPosted,
    UserChanged,
)
from tests.harness import internal_token

WAIT_SECONDS = 1.0
APPLY_TIMEOUT_SECONDS = 10.0

# (account code, amount, balance after)
Move = tuple[str, int, int]
# (account code, held delta, held after, balance after)
Reserve = tuple[str, int, int, int]


def token_for(
    tenant_id: uuid.UUID | None, role: str = "master", audience: str = "reporting", user_id: uuid.UUID | None = None
) -> str:
    return internal_token(audience, role, tenant_id, user_id=user_id or uuid.uuid4())


def auth(tenant_id: uuid.UUID | None, user_id: uuid.UUID | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(tenant_id, user_id=user_id)}"}


@dataclass
class Reporting:
    client: TestClient[web.Request, web.Application]
    database_url: str

    async def logs(
        self, tenant_id: uuid.UUID, account_ids: list[uuid.UUID], **params: object
    ) -> tuple[int, dict[str, Any]]:
        query = [("account", str(a)) for a in account_ids] + [(k, str(v)) for k, v in params.items()]
        response = await self.client.get(
            "/logs", params=query, headers={"Authorization": f"Bearer {token_for(tenant_id)}"}
        )
        return response.status, await response.json(content_type=None)

    async def entries(self, tenant_id: uuid.UUID, account_ids: list[uuid.UUID]) -> list[dict[str, Any]]:
        status, body = await self.logs(tenant_id, account_ids, limit=1000)
        assert status == 200, body
        return list(body["entries"])

    async def scoped(self, tenant_id: uuid.UUID, scope: str, **params: object) -> list[dict[str, Any]]:
        """Every entry of a scope, all pages followed."""
        entries: list[dict[str, Any]] = []
        cursor = None
        while True:
            query = {"scope": scope, "limit": 1000, **params} | ({"cursor": cursor} if cursor else {})
            response = await self.client.get("/logs", params={k: str(v) for k, v in query.items()},
                                             headers=auth(tenant_id))
            body = await response.json(content_type=None)
            assert response.status == 200, body
            entries += body["entries"]
            cursor = body["next_cursor"]
            if cursor is None:
                return entries

    async def download(
        self, path: str, tenant_id: uuid.UUID, params: list[tuple[str, str]], user_id: uuid.UUID | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        response = await self.client.get(path, params=params, headers=auth(tenant_id, user_id))
        return response.status, dict(response.headers), await response.read()

    async def wait_directory(self, table: str, key: uuid.UUID, version: int) -> None:
        """Until the replica holds `key` at `version` or later."""
        async with asyncio.timeout(APPLY_TIMEOUT_SECONDS):
            while True:
                rows = await self.sql(f"SELECT version FROM {table} WHERE id = $1", key)  # noqa: S608
                if rows and rows[0]["version"] >= version:
                    return
                await asyncio.sleep(0.02)

    async def wait_applied(self, *seqs: int) -> None:
        """Until every seq is recorded, read straight from the database (not through the API)."""
        conn = await asyncpg.connect(self.database_url)
        try:
            async with asyncio.timeout(APPLY_TIMEOUT_SECONDS):
                while True:
                    found = await conn.fetchval(
                        "SELECT count(*) FROM applied_transactions WHERE seq = ANY($1::bigint[])", list(seqs)
                    )
                    if found == len(set(seqs)):
                        return
                    await asyncio.sleep(0.02)
        finally:
            await conn.close()

    async def sql(self, statement: str, *args: object) -> Any:
        conn = await asyncpg.connect(self.database_url)
        try:
            return await conn.fetch(statement, *args)
        finally:
            await conn.close()


@dataclass
class FakeLedger:
    """Builds transactions the way the ledger announces them and publishes them for real."""

    broker: Broker
    seqs: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    # Every transaction published, by seq: the journal a stub ledger serves for rebuilds.
    journal: dict[int, TransactionPosted] = field(default_factory=dict)

    def transaction(
        self,
        tenant_id: uuid.UUID,
        kind: str,
        moves: list[Move],
        occurred_at: datetime | None = None,
        reserves: list[Reserve] | None = None,
        **extra: Any,
    ) -> TransactionPosted:
        postings = [
            Posting(account_id=accounts.account_id(tenant_id, code), account_code=code, amount=a, balance_after=b)
            for code, a, b in moves
        ]
        hold_id = extra.pop("hold_id", uuid.uuid4())
        holds = [
            HoldChange(hold_id=hold_id, account_id=accounts.account_id(tenant_id, code), account_code=code,
                       held_delta=delta, held_after=held, balance_after=balance)
            for code, delta, held, balance in reserves or []
        ]
        return TransactionPosted(
            transaction_id=extra.pop("transaction_id", uuid.uuid4()),
            seq=extra.pop("seq", next(self.seqs)),
            tenant_id=tenant_id,
            kind=kind,
            occurred_at=occurred_at or datetime.now(UTC),
            postings=postings,
            holds=holds,
            **extra,
        )

    def balances(self, tenant_id: uuid.UUID) -> dict[str, int]:
        """What the ledger would answer: each account's balance after its latest transaction."""
        found: dict[str, int] = {}
        for posted in sorted(self.journal.values(), key=lambda p: p.seq):
            if posted.tenant_id == tenant_id:
                found.update({p.account_code: p.balance_after for p in posted.postings})
                found.update({h.account_code: h.balance_after for h in posted.holds})
        return found

    @staticmethod
    def event(posted: TransactionPosted) -> Event:
        return Event.new(type=TRANSACTION_POSTED, source="ledger", subject=str(posted.tenant_id), data=posted)

    async def publish(self, event: Event) -> None:
        posted = TransactionPosted.model_validate(event.data)
        self.journal[posted.seq] = posted
        await self.broker.publish(event.model_dump(mode="json", exclude_none=True), event.routing_key)

    async def post(
        self,
        tenant_id: uuid.UUID,
        kind: str,
        moves: list[Move],
        occurred_at: datetime | None = None,
        reserves: list[Reserve] | None = None,
        **extra: Any,
    ) -> TransactionPosted:
        posted = self.transaction(tenant_id, kind, moves, occurred_at, reserves, **extra)
        await self.publish(self.event(posted))
        return posted


@dataclass
class FakeDirectory:
    """Announces tenants and people the way the gateway does."""

    broker: Broker

    async def tenant(self, tenant_id: uuid.UUID, name: str, timezone: str, version: int) -> Event:
        facts = TenantChanged(tenant_id=tenant_id, name=name, credit_mode="individual", timezone=timezone,
                              low_balance_threshold=0, version=version)
        return await self._publish(TENANT_CHANGED, str(tenant_id), facts)

    async def user(self, tenant_id: uuid.UUID, user_id: uuid.UUID, name: str, version: int) -> Event:
        facts = UserChanged(tenant_id=tenant_id, user_id=user_id, name=name, role="user", team=None, active=True,
                            send_sms=True, manage_credits=False, version=version)
        return await self._publish(USER_CHANGED, f"{tenant_id}/{user_id}", facts)

    async def _publish(self, kind: str, subject: str, facts: TenantChanged | UserChanged) -> Event:
        event = Event.new(type=kind, source="gateway", subject=subject, data=facts)
        await self.broker.publish(event.model_dump(mode="json", exclude_none=True), event.routing_key)
        return event


async def publish_raw(broker_url: str, exchange_name: str, body: bytes) -> None:
    """Any bytes at all, as a ledger event: what a broken or hostile producer could send."""
    connection = await aio_pika.connect(broker_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(exchange_name)
        await exchange.publish(aio_pika.Message(body), routing_key=events.routing_key(TRANSACTION_POSTED))


async def dead_letters(broker_url: str, queue_name: str, expected: int) -> list[bytes]:
    """Every message parked in a dead-letter queue, once at least `expected` have arrived."""
    bodies: list[bytes] = []
    connection = await aio_pika.connect(broker_url)
    async with connection, asyncio.timeout(APPLY_TIMEOUT_SECONDS):
        queue = await (await connection.channel()).get_queue(queue_name)
        while len(bodies) < expected:
            message = await queue.get(no_ack=True, fail=False)
            if message is None:
                await asyncio.sleep(0.05)
            else:
                bodies.append(message.body)
    return bodies


class _TableReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: list[list[str]] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._table = self.tables.setdefault(dict(attrs).get("id") or "", [])
        elif tag == "tr" and self._table is not None:
            self._table.append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._table is not None and self._cell is not None:
            self._table[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def html_tables(html: str) -> dict[str, list[list[str]]]:
    """Every table of a page by its id, each a list of rows of cell texts (header row included)."""
    reader = _TableReader()
    reader.feed(html)
    return reader.tables
