"""Helpers for the reporting integration tests: a stand-in for the ledger that publishes real
`ledger.transaction.posted` events, and a way to ask the running service for the log.

A plain module (not the conftest) so test modules can import its names."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aiohttp import web
from aiohttp.test_utils import TestClient

from common import accounts
from common.bus import Broker
from common.events import TRANSACTION_POSTED, Event, Posting, TransactionPosted
from common.identity import Identity, issue_internal_token

SECRET = "reporting-tests-secret-0123456789abcdef"
WAIT_SECONDS = 1.0
APPLY_TIMEOUT_SECONDS = 10.0

# (account code, amount, balance after)
Move = tuple[str, int, int]


def token_for(tenant_id: uuid.UUID | None, role: str = "master", audience: str = "reporting") -> str:
    identity = Identity(role=role, tenant_id=tenant_id, user_id=uuid.uuid4())  # type: ignore[arg-type]
    return issue_internal_token(identity, SECRET, audience)


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

    def transaction(
        self,
        tenant_id: uuid.UUID,
        kind: str,
        moves: list[Move],
        occurred_at: datetime | None = None,
        **extra: Any,
    ) -> TransactionPosted:
        postings = [
            Posting(account_id=accounts.account_id(tenant_id, code), account_code=code, amount=a, balance_after=b)
            for code, a, b in moves
        ]
        return TransactionPosted(
            transaction_id=extra.pop("transaction_id", uuid.uuid4()),
            seq=extra.pop("seq", next(self.seqs)),
            tenant_id=tenant_id,
            kind=kind,
            occurred_at=occurred_at or datetime.now(UTC),
            postings=postings,
            **extra,
        )

    @staticmethod
    def event(posted: TransactionPosted) -> Event:
        return Event.new(type=TRANSACTION_POSTED, source="ledger", subject=str(posted.tenant_id), data=posted)

    async def publish(self, event: Event) -> None:
        await self.broker.publish(event.model_dump(mode="json", exclude_none=True), event.type)

    async def post(
        self,
        tenant_id: uuid.UUID,
        kind: str,
        moves: list[Move],
        occurred_at: datetime | None = None,
        **extra: Any,
    ) -> TransactionPosted:
        posted = self.transaction(tenant_id, kind, moves, occurred_at, **extra)
        await self.publish(self.event(posted))
        return posted
