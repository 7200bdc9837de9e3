"""Reporting reading its log from a streaming replica (scripts/pg_replica.py) while its consumers write on the
primary: read-your-writes through the consistency token, the fallback to the primary, no write on the replica.

The replica applies every commit APPLY_DELAY after the primary made it, so "the row is on the primary but
not yet on the replica" lasts long enough to see: a read served by the primary would show it at once."""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from common import accounts
from common.runtime import DB
from scripts.local_servers import postgres_bin
from scripts.pg_replica import PostgresPair
from services.reporting import reads
from services.reporting.app import create_app
from services.reporting.reads import READS
from services.reporting.settings import ReportingSettings
from tests.conftest import StartService
from tests.integration.reporting.reporting_support import FakeLedger, Reporting, auth
from tests.support import free_port

APPLY_DELAY = 1.5
# Longer than the delay (the read waits for the replica), and far shorter than it.
PATIENT_WAIT, IMPATIENT_WAIT = 5.0, 0.2

pytestmark = pytest.mark.skipif(postgres_bin() is None, reason="the Postgres server binaries (pg_ctl, "
                                "initdb, pg_basebackup) are not installed: no replica can be made")


@pytest.fixture(scope="module")
def pair() -> Iterator[PostgresPair]:
    # Its own folder under /tmp (which the postgres user can enter, unlike pytest's tmp_path).
    made = PostgresPair(Path(tempfile.mkdtemp(prefix="reporting-replica-")), free_port(), free_port(),
                        apply_delay_seconds=APPLY_DELAY, durable=False)
    try:
        made.start()
        assert made.wait_streaming(30), "the replica did not start streaming from the primary"
        yield made
    finally:
        made.destroy()


@dataclass
class Replicated:
    """Two reporting processes on one primary and its replica, as two replicas of the service would be,
    differing only in how long a read waits for a consistency token."""

    patient: Reporting
    impatient: Reporting
    ledger: FakeLedger
    pair: PostgresPair


@pytest.fixture
async def replicated(pair: PostgresPair, start_service: StartService) -> AsyncIterator[Replicated]:
    database = f"reporting_{uuid.uuid4().hex[:8]}"
    urls = {"database_url": pair.primary_url(database), "read_database_url": pair.replica_url(database)}
    patient, impatient = [
        await start_service("reporting", create_app, ReportingSettings, consistency_wait_seconds=wait,
                            db_pool_size=4, **urls)
        for wait in (PATIENT_WAIT, IMPATIENT_WAIT)
    ]
    # The database and its tables reach the replica APPLY_DELAY after their creation on the primary.
    assert await asyncio.to_thread(pair.wait_replayed, 15)
    yield Replicated(Reporting(patient.client, urls["database_url"]), Reporting(impatient.client,
                     urls["database_url"]), FakeLedger(patient.broker), pair)


def _served_by(target: str) -> float:
    return REGISTRY.get_sample_value("reporting_read_snapshots_total", {"target": target}) or 0.0


async def test_a_read_with_the_token_waits_for_the_lagging_replica_and_a_read_without_it_does_not(
    replicated: Replicated,
) -> None:
    tenant = uuid.uuid4()
    system = accounts.account_id(tenant, "system")
    from_primary = _served_by("primary")
    posted = await replicated.ledger.post(tenant, "purchase", [("world", -7, -7), ("system", 7, 7)])
    await replicated.patient.wait_applied(posted.seq)  # written: read straight from the primary

    # Read without a token: the replica's log as it is, still without the purchase (the primary has it).
    status, body = await replicated.patient.logs(tenant, [system])
    assert status == 200 and body["entries"] == [] and body["stale"] is False
    # A token, and less patience than the replica's lag: an answer marked stale, not a wrong "up to date".
    status, body = await replicated.impatient.logs(tenant, [system], consistency_token=posted.seq)
    assert status == 200 and body["entries"] == [] and body["stale"] is True

    started = time.monotonic()
    status, body = await replicated.patient.logs(tenant, [system], consistency_token=posted.seq)
    waited = time.monotonic() - started

    assert status == 200 and body["stale"] is False
    assert [(e["kind"], e["quantity"], e["balance_after"]) for e in body["entries"]] == [("purchase", 7, 7)]
    assert waited > 0.3, "answered at once: the read did not come from the lagging replica"
    assert _served_by("primary") == from_primary


async def test_the_csv_and_the_report_wait_for_the_token_on_the_replica_too(replicated: Replicated) -> None:
    tenant = uuid.uuid4()
    params = [("account", str(accounts.account_id(tenant, "system")))]
    posted = await replicated.ledger.post(tenant, "purchase", [("world", -3, -3), ("system", 3, 3)])
    await replicated.patient.wait_applied(posted.seq)
    with_token = [*params, ("consistency_token", str(posted.seq))]

    response = await replicated.impatient.client.get("/logs.csv", params=with_token, headers=auth(tenant))
    assert response.headers["X-Log-Stale"] == "true"
    assert len((await response.text()).splitlines()) == 1  # the header row only
    response = await replicated.patient.client.get("/logs.csv", params=with_token, headers=auth(tenant))
    assert response.headers["X-Log-Stale"] == "false"
    assert len((await response.text()).splitlines()) == 2
    response = await replicated.patient.client.get("/logs/report", params=with_token, headers=auth(tenant))
    assert response.status == 200 and response.headers["X-Log-Stale"] == "false"


async def test_with_the_replica_stopped_reads_are_answered_by_the_primary_and_return_to_it_once_back(
    replicated: Replicated, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reads, "RETRY_REPLICA_SECONDS", 0.2)
    tenant = uuid.uuid4()
    system = accounts.account_id(tenant, "system")
    await asyncio.to_thread(replicated.pair.replica.stop)
    try:
        posted = await replicated.ledger.post(tenant, "purchase", [("world", -4, -4), ("system", 4, 4)])
        await replicated.patient.wait_applied(posted.seq)
        from_primary = _served_by("primary")

        # At once and complete, though the replica (down, and lagging) cannot have the row: the primary's.
        for params in ({}, {"consistency_token": posted.seq}):
            status, body = await replicated.impatient.logs(tenant, [system], **params)
            assert status == 200, body
            assert [e["quantity"] for e in body["entries"]] == [4] and body["stale"] is False
        usage = await replicated.impatient.client.get("/usage", params={"account": str(system)}, headers=auth(tenant))
        assert usage.status == 200
        assert _served_by("primary") >= from_primary + 3
    finally:
        await asyncio.to_thread(replicated.pair.replica.start)
    assert await asyncio.to_thread(replicated.pair.wait_replayed, 30)

    # Back to the replica once it answers again: a read may still meet a connection the restart broke (it
    # is answered by the primary, and the replica paused again), so a few tries, each answered in full.
    deadline = asyncio.get_running_loop().time() + 15
    while True:
        await asyncio.sleep(0.3)  # past the pause before the replica is tried again
        from_replica = _served_by("replica")
        status, body = await replicated.impatient.logs(tenant, [system])
        assert status == 200 and [e["quantity"] for e in body["entries"]] == [4]
        if _served_by("replica") == from_replica + 1:
            break
        assert asyncio.get_running_loop().time() < deadline, "reads never went back to the replica"


async def test_consumers_write_on_the_primary_and_the_read_pool_is_the_read_only_replica(
    replicated: Replicated,
) -> None:
    app = replicated.patient.client.app
    replica = app[READS].replica
    assert replica is not None
    async with app[DB].acquire() as primary_conn, replica.acquire() as replica_conn:
        assert await primary_conn.fetchval("SELECT pg_is_in_recovery()") is False
        assert await replica_conn.fetchval("SELECT pg_is_in_recovery()") is True

    tenant = uuid.uuid4()
    posted = [await replicated.ledger.post(tenant, "purchase", [("world", -n, -n), ("system", n, n)])
              for n in (1, 2)]
    # Applied by the consumers of both processes (they share the queue), each on the primary.
    await replicated.patient.wait_applied(*(p.seq for p in posted))


async def test_a_replica_that_never_answers_leaves_reporting_serving_from_the_primary(
    start_service: StartService, monkeypatch: pytest.MonkeyPatch
) -> None:
    nowhere = free_port()  # nothing listens there
    service = await start_service("reporting", create_app, ReportingSettings, db_pool_size=4,
                                  read_database_url=f"postgresql://postgres@127.0.0.1:{nowhere}/reporting")
    running = Reporting(service.client, service.settings.database_url)
    tenant = uuid.uuid4()
    posted = await FakeLedger(service.broker).post(tenant, "purchase", [("world", -9, -9), ("system", 9, 9)])
    await running.wait_applied(posted.seq)

    status, body = await running.logs(tenant, [accounts.account_id(tenant, "system")],
                                      consistency_token=posted.seq)

    assert status == 200 and [e["quantity"] for e in body["entries"]] == [9] and body["stale"] is False
    ready = await service.client.get("/readyz")
    assert ready.status == 200
