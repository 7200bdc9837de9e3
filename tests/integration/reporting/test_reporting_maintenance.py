"""`python -m services.reporting reconcile|rebuild` against a stub ledger serving the ledger's HTTP
contract (`GET /accounts?code=`, `GET /transactions?after_seq=&limit=`) from the events the fake ledger
published, so the stub and the live consumer saw the same history."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from common import accounts
from common.contracts.events import LotChange
from common.identity import InvalidInternalToken, verify_internal_token
from tests.conftest import NewDatabase
from tests.harness import INTERNAL_SECRET as SECRET
from tests.integration.reporting.reporting_support import FakeLedger, Reporting

ROOT = Path(__file__).resolve().parents[3]
TENANT, OTHER = uuid.uuid4(), uuid.uuid4()
ALICE, BOB = accounts.user_code(uuid.uuid4()), accounts.user_code(uuid.uuid4())
ROWS = """SELECT id, tenant_id, account_id, account_code, ledger_seq, transaction_id, occurred_at, direction, quantity,
                 kind, balance_after, counterparty_code, actor_user_id, reference, note, reservation,
                 promotional, lot_expires_at
          FROM log_entries ORDER BY id"""


@dataclass
class StubLedger:
    fake: FakeLedger
    url: str = ""
    planted: dict[tuple[uuid.UUID, str], int] = field(default_factory=dict)  # a balance the ledger disagrees on
    journal_requests: int = 0

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/transactions", self.transactions)
        app.router.add_get("/accounts", self.accounts)
        return app

    @staticmethod
    def _identity(request: web.Request) -> Any:
        try:
            return verify_internal_token(request.headers["Authorization"].removeprefix("Bearer "), SECRET, "ledger")
        except (KeyError, InvalidInternalToken):
            raise web.HTTPUnauthorized() from None

    async def transactions(self, request: web.Request) -> web.Response:
        if self._identity(request).role not in ("operator", "service"):
            raise web.HTTPForbidden()
        self.journal_requests += 1
        after, limit = int(request.query.get("after_seq", 0)), int(request.query.get("limit", 500))
        page = [self.fake.journal[seq] for seq in sorted(self.fake.journal) if seq > after][:limit]
        return web.json_response({
            "transactions": [posted.model_dump(mode="json") for posted in page],
            "next_after_seq": page[-1].seq if len(page) == limit else None,
        })

    async def accounts(self, request: web.Request) -> web.Response:
        tenant_id = self._identity(request).tenant_id
        if tenant_id is None:
            raise web.HTTPForbidden()
        balances = self.fake.balances(tenant_id)
        answer = []
        for code in request.query.getall("code"):
            balance = self.planted.get((tenant_id, code), balances.get(code, 0))
            answer.append({"id": str(accounts.account_id(tenant_id, code)), "code": code, "kind": code.split(":")[0],
                           "balance": balance, "held": 0, "available": balance})
        return web.json_response(answer)


@pytest.fixture
async def stub_ledger(ledger: FakeLedger) -> AsyncIterator[StubLedger]:
    stub = StubLedger(ledger)
    server = TestServer(stub.app(), host="127.0.0.1")
    await server.start_server()
    stub.url = str(server.make_url("")).rstrip("/")
    try:
        yield stub
    finally:
        await server.close()


async def _history(reporting: Reporting, ledger: FakeLedger) -> None:
    start = datetime.now(UTC) - timedelta(days=20)
    at = lambda hours: start + timedelta(hours=hours)  # noqa: E731
    posted = [
        await ledger.post(TENANT, "purchase", [("world", -100, -100), ("system", 100, 100)], at(0), note="INV-1"),
        await ledger.post(TENANT, "transfer", [("system", -30, 70), (ALICE, 30, 30)], at(1),
                          actor_user_id=uuid.uuid4()),
        await ledger.post(TENANT, "transfer", [(ALICE, -10, 20), (BOB, 10, 10)], at(2)),
        await ledger.post(TENANT, "hold", [], at(3), reserves=[(BOB, 4, 4, 10)], reference="msg-1"),
        await ledger.post(TENANT, "capture", [(BOB, -4, 6), ("spent", 4, 4)], at(4), reserves=[(BOB, -4, 0, 6)]),
        await ledger.post(TENANT, "hold", [], at(5), reserves=[(ALICE, 2, 2, 20)]),
        await ledger.post(TENANT, "expiry", [], at(6), reserves=[(ALICE, -2, 0, 20)]),
        await ledger.post(TENANT, "refund", [("spent", -1, 3), ("world", 1, -99)], at(7)),
        await ledger.post(TENANT, "mode_change", [(ALICE, -20, 0), (BOB, -6, 0), ("system", 26, 96)], at(8)),
        await ledger.post(OTHER, "purchase", [("world", -5, -5), ("system", 5, 5)], at(0)),
        await ledger.post(OTHER, "transfer", [("system", -5, 0), (ALICE, 5, 5)], at(1)),
    ]
    await reporting.wait_applied(*(p.seq for p in posted))


async def _command(command: str, database_url: str, stub: StubLedger, **env: str) -> tuple[int, str]:
    environment = {**os.environ, "REPORTING_DATABASE_URL": database_url, "INTERNAL_TOKEN_SECRET": SECRET,
                   "LEDGER_URL": stub.url, "LOG_LEVEL": "WARNING", **env}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.reporting", command, cwd=ROOT, env=environment,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode is not None
    return process.returncode, output.decode()


async def _snapshot(database_url: str) -> dict[str, list[dict[str, Any]]]:
    conn = await asyncpg.connect(database_url)
    try:
        return {
            "rows": [dict(r) for r in await conn.fetch(ROWS)],
            "accounts": [dict(r) for r in await conn.fetch("SELECT * FROM log_accounts ORDER BY account_id")],
            "applied": [dict(r) for r in await conn.fetch(
                "SELECT seq, transaction_id, tenant_id FROM applied_transactions ORDER BY seq")],
        }
    finally:
        await conn.close()


async def test_rebuild_into_an_empty_database_gives_the_rows_the_live_consumer_wrote(
    reporting: Reporting, ledger: FakeLedger, stub_ledger: StubLedger, new_database: NewDatabase
) -> None:
    await _history(reporting, ledger)
    empty = await new_database("rebuild")

    code, output = await _command("rebuild", empty, stub_ledger, REBUILD_PAGE_SIZE="4")

    assert code == 0, output
    assert "replayed 11 ledger transaction(s) up to seq 11" in output, output
    live, rebuilt = await _snapshot(reporting.database_url), await _snapshot(empty)
    assert len(live["rows"]) == 15
    assert rebuilt == live
    assert stub_ledger.journal_requests == 3  # pages of 4, 4 and 3 transactions


async def test_rebuild_in_place_restores_lost_and_drifted_rows_while_readers_keep_reading(
    reporting: Reporting, ledger: FakeLedger, stub_ledger: StubLedger
) -> None:
    await _history(reporting, ledger)
    before = await _snapshot(reporting.database_url)
    await reporting.sql("DELETE FROM log_entries WHERE id IN (SELECT id FROM log_entries ORDER BY id LIMIT 3)")
    await reporting.sql("UPDATE log_entries SET balance_after = balance_after + 1 WHERE account_code = 'system'")
    damaged = len(await reporting.scoped(TENANT, "tenant"))

    rebuild = asyncio.create_task(_command("rebuild", reporting.database_url, stub_ledger, REBUILD_PAGE_SIZE="1"))
    seen = []
    while not rebuild.done():
        seen.append(len(await reporting.scoped(TENANT, "tenant")))
    code, output = await rebuild

    assert code == 0, output
    assert await _snapshot(reporting.database_url) == before
    # Readers read the same table throughout: never fewer rows than before the rebuild, only more.
    assert seen and min(seen) >= damaged and seen == sorted(seen)
    assert len(await reporting.scoped(TENANT, "tenant")) == 12


def _lot(code: str, lot_id: uuid.UUID, amount: int, expires_at: datetime) -> LotChange:
    return LotChange(lot_id=lot_id, account_id=accounts.account_id(TENANT, code), account_code=code, amount=amount,
                     origin="grant", paid=False, expires_at=expires_at)


async def test_rebuild_gives_the_same_promotional_figures_and_lapse_dates_and_repairs_drifted_ones(
    reporting: Reporting, ledger: FakeLedger, stub_ledger: StubLedger, new_database: NewDatabase
) -> None:
    granted, start = uuid.uuid4(), datetime.now(UTC) - timedelta(days=2)
    posted = [
        await ledger.post(TENANT, "grant", [("promotions", -40, -40), (ALICE, 40, 40)], start, note="Welcome",
                          lots=[_lot(ALICE, granted, 40, start + timedelta(days=1))]),
        await ledger.post(TENANT, "transfer", [(ALICE, -10, 30), (BOB, 10, 10)], start + timedelta(hours=1),
                          lots=[_lot(ALICE, granted, -10, start + timedelta(days=1)),
                                _lot(BOB, granted, 10, start + timedelta(days=1))]),
        await ledger.post(TENANT, "lot_expiry", [(ALICE, -30, 0), ("expired", 30, 30)], start + timedelta(days=1),
                          reference=f"lot:{granted}", lots=[_lot(ALICE, granted, -30, start + timedelta(days=1))]),
    ]
    await reporting.wait_applied(*(p.seq for p in posted))
    live = await _snapshot(reporting.database_url)
    assert sorted((r["kind"], r["promotional"]) for r in live["rows"]) == [
        ("grant", 40), ("lot_expiry", 30), ("transfer", 10), ("transfer", 10)]
    empty = await new_database("rebuild-lots")

    code, output = await _command("rebuild", empty, stub_ledger)
    await reporting.sql("UPDATE log_entries SET promotional = 0, lot_expires_at = NULL")
    repaired, repair_output = await _command("rebuild", reporting.database_url, stub_ledger)

    assert (code, repaired) == (0, 0), output + repair_output
    assert await _snapshot(empty) == live
    assert await _snapshot(reporting.database_url) == live


async def test_reconcile_passes_when_the_log_agrees_with_the_ledger(
    reporting: Reporting, ledger: FakeLedger, stub_ledger: StubLedger
) -> None:
    await _history(reporting, ledger)

    code, output = await _command("reconcile", reporting.database_url, stub_ledger)

    assert code == 0, output
    assert "reporting: 5 account(s) compared, 0 differ" in output, output


async def test_reconcile_reports_a_planted_difference_and_exits_non_zero(
    reporting: Reporting, ledger: FakeLedger, stub_ledger: StubLedger
) -> None:
    await _history(reporting, ledger)
    stub_ledger.planted[(TENANT, BOB)] = 1  # the ledger says 1 where the log ends at 0

    code, output = await _command("reconcile", reporting.database_url, stub_ledger)

    assert code == 1, output
    assert f"DIFFERENT tenant {TENANT} account {BOB}: log 0, ledger 1 (log -1)" in output, output
    assert "reporting: 5 account(s) compared, 1 differ" in output


async def test_reconcile_without_a_ledger_fails_distinctly(reporting: Reporting, ledger: FakeLedger) -> None:
    await _history(reporting, ledger)
    unreachable = StubLedger(ledger, url="http://127.0.0.1:9")

    code, output = await _command("reconcile", reporting.database_url, unreachable)

    assert code == 2, output
    assert "could not read the ledger" in output
