"""Overload: reporting stopped while the ledger posts 10,000 transfers, then started again. It must
work through the backlog without an error, in bounded memory (the broker hands it `prefetch` messages
at a time, never the queue), and end with a log equal to the ledger.

About two minutes on two cores (most of it posting the transfers), so it runs with
`make chaos` (CHAOS_BACKLOG=1), not in `make test`."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from common.accounts import user_code
from common.bus import Broker
from common.contracts import events
from common.contracts.events import Event, PurchasePaid
from common.identity import Identity, issue_internal_token
from gateway.seed import ACME, PEOPLE
from services.reporting.settings import ReportingSettings
from tests.chaos import checks
from tests.chaos.campaign import directory_known
from tests.chaos.system import EXCHANGE, ChaosSystem
from tests.support import eventually

TRANSFERS = 10_000
CLIENTS = 16
# Reporting consumes ledger events in batches and asks the broker for two batches ahead
# (services/reporting/entries/consumers.py); what it holds unacknowledged never exceeds that, however long the queue.
PREFETCH = 2 * ReportingSettings.model_fields["consumer_batch_size"].get_default()
MAX_GROWTH_BYTES = 96 * 1024 * 1024
QUEUE = f"{EXCHANGE}.reporting.ledger-events"
BILLING_QUEUES = f"{EXCHANGE}.billing."
WEBHOOKS_QUEUE = f"{EXCHANGE}.webhooks.events"

AVA = next(p for p in PEOPLE if p.email == "master@acme.test")
MASTER = Identity(role="master", tenant_id=ACME.id, user_id=AVA.id, send_sms=True, credit_mode="individual")
# Two pairs of Acme's people send a credit back and forth: disjoint pairs lock different rows, so the
# ledger posts them side by side (one hot account would serialise all 10,000).
ACME_CODES = [user_code(p.id) for p in PEOPLE if p.tenant_id == ACME.id]
LANES = [(ACME_CODES[0], ACME_CODES[1]), (ACME_CODES[2], ACME_CODES[3])]

pytestmark = pytest.mark.skipif(not os.environ.get("CHAOS_BACKLOG"), reason="long: `make chaos` runs it")


def _rss(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmRSS:\s+(\d+) kB", status)
    return int(match.group(1)) * 1024 if match else 0


async def _fund(system: ChaosSystem, codes: list[str], quantity: int) -> None:
    """Credit these accounts as paid purchases would: billing's events, straight onto the bus."""
    broker = Broker(system.rabbit.url, EXCHANGE)
    await broker.connect()
    try:
        for code in codes:
            paid = PurchasePaid(purchase_id=uuid.uuid4(), tenant_id=ACME.id, account_id=uuid.uuid4(),
                                account_code=code, quantity=quantity, buyer_user_id=AVA.id, invoice_number="INV-1",
                                total_cents=1, currency="AUD", paid_at=datetime.now(UTC))
            event = Event.new(type=events.PURCHASE_PAID, source="billing", subject=str(ACME.id), data=paid)
            await broker.publish(event.model_dump(mode="json", exclude_none=True), event.routing_key)
    finally:
        await broker.close()


async def _transfers(system: ChaosSystem, count: int) -> None:
    """`count` transfers of one credit within each lane, straight to the ledger (as the gateway calls it)."""
    secret, url = system.env["INTERNAL_TOKEN_SECRET"], system.url("ledger") + "/transfers"
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(count):
        queue.put_nowait(n)

    async def client(session: aiohttp.ClientSession) -> None:
        while not queue.empty():
            n = queue.get_nowait()
            headers = {"Authorization": "Bearer " + issue_internal_token(MASTER, secret, "ledger"),
                       "Idempotency-Key": f"backlog-{n}"}
            source, target = LANES[n % len(LANES)][:: 1 if n % 4 < 2 else -1]
            body = {"from_code": source, "to_code": target, "quantity": 1, "accept_terms": True,
                    "terms_version": "1"}
            async with session.post(url, json=body, headers=headers) as response:
                assert response.status == 201, await response.text()

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(client(session) for _ in range(CLIENTS)))


async def _count(system: ChaosSystem, service: str, sql: str) -> int:
    conn = await system.connect(service)
    try:
        return int(await conn.fetchval(sql))
    finally:
        await conn.close()


async def test_reporting_stopped_for_10000_transfers_catches_up_without_error_in_bounded_memory():
    root = Path(tempfile.mkdtemp(prefix="sms-credits-backlog-"))
    system, passed = ChaosSystem.create(root), False
    try:
        await asyncio.to_thread(system.start_infrastructure)
        assert (await asyncio.to_thread(system.command, "gateway", "seed")).returncode == 0
        for service in ("gateway", "ledger", "reporting"):
            system.start(service)
        await system.wait_ready(["gateway", "ledger", "reporting"])
        await directory_known(system)
        await _fund(system, ACME_CODES, TRANSFERS)

        async def funded() -> bool:
            purchases = await _count(system, "ledger", "SELECT count(*) FROM transactions WHERE kind = 'purchase'")
            return purchases == len(ACME_CODES)

        await eventually(funded, timeout=30)
        system.kill("reporting", signal.SIGTERM)
        started = time.monotonic()
        await _transfers(system, TRANSFERS)
        posting_seconds = time.monotonic() - started

        async def backlog_queued() -> bool:
            queued = (await asyncio.to_thread(system.rabbit.queues))[QUEUE]["ready"]
            return queued >= TRANSFERS

        await eventually(backlog_queued, timeout=120, every=0.5)

        system.start("reporting")
        pid = system.processes["reporting"].pid
        await system.wait_ready(["reporting"])
        baseline, peak, unacked_seen = _rss(pid), 0, 0
        ledger_total = await _count(system, "ledger", "SELECT count(*) FROM transactions")
        started, queued = time.monotonic(), {"ready": 1, "unacked": 0}
        # Caught up: every ledger transaction applied and the queue empty (the relay publishes at least
        # once, so a few events may come twice; the inbox makes the second a no-op).
        while queued["ready"] + queued["unacked"] or await _count(
                system, "reporting", "SELECT count(*) FROM applied_transactions") < ledger_total:
            peak = max(peak, _rss(pid))
            queued = (await asyncio.to_thread(system.rabbit.queues))[QUEUE]
            unacked_seen = max(unacked_seen, queued["unacked"])
            assert time.monotonic() - started < 180, "reporting did not catch up in 3 minutes"
            await asyncio.sleep(0.25)
        catch_up_seconds = time.monotonic() - started
        log = (system.logs / "reporting.log").read_text()
        print(f"\n{TRANSFERS} transfers posted in {posting_seconds:.1f} s with reporting stopped; it caught up in "
              f"{catch_up_seconds:.1f} s ({log.count('ledger_transaction_duplicate')} duplicate deliveries), "
              f"RSS {baseline / 2**20:.0f} MiB -> peak {peak / 2**20:.0f} MiB, "
              f"at most {unacked_seen} message(s) unacknowledged")

        assert peak - baseline < MAX_GROWTH_BYTES, (baseline, peak)
        assert unacked_seen <= PREFETCH, (unacked_seen, PREFETCH)
        errors = [line for line in log.splitlines()
                  if line.startswith("{") and json.loads(line).get("level") in ("error", "critical")]
        assert not errors, errors[:5]
        verdicts = await checks.reporting_verdicts(system) + await checks.broker_verdicts(system)
        failing = [v for v in verdicts if not v.held and "no message sits" not in v.name]
        assert not failing, failing
        # Billing and webhooks were never started: billing's queues still hold the ledger's purchases (no
        # account has auto top-up on, so not one transfer: they never reach billing) and the directory's
        # events, webhooks' queue every public event (each transaction); nothing else waits or is
        # unacknowledged anywhere.
        queues = await asyncio.to_thread(system.rabbit.queues)
        waiting = {name: q for name, q in queues.items() if q["ready"] or q["unacked"]}
        never_started = {name: waiting.pop(name)["ready"] for name in list(waiting)
                         if name.startswith((BILLING_QUEUES, WEBHOOKS_QUEUE)) and not waiting[name]["unacked"]}
        print(f"left for billing and webhooks (never started): {never_started}, {ledger_total} ledger "
              f"transactions; anything else waiting: {waiting or 'nothing'}")
        purchases = await _count(system, "ledger", "SELECT count(*) FROM transactions WHERE kind = 'purchase'")
        for_billing = never_started.get(f"{BILLING_QUEUES}ledger-events", 0)
        assert not waiting and purchases <= for_billing < ledger_total, (never_started, purchases, ledger_total)
        assert never_started.get(WEBHOOKS_QUEUE, 0) >= ledger_total, (never_started, ledger_total)
        passed = True
    finally:
        await asyncio.to_thread(system.stop_all)
        await asyncio.to_thread(system.rabbit.kill)
        await asyncio.to_thread(system.postgres.crash)
        if passed:
            shutil.rmtree(root, ignore_errors=True)
        else:
            print(f"logs kept in {root}")
