"""The ceiling: pgbench running a transfer's SQL against a scratch copy of the ledger's schema (its
own migrations, applied to a database of this run's own), on the same Postgres the services use.

Scripts are in bench/sql/. Accounts are numbered 1..10,000 with ids md5('account:' || n)::uuid, so a
script can name a random one without a lookup table.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from string import Template

import asyncpg

from bench import infra, machine, stats
from common.contracts import events
from common.contracts.events import Event, TransactionPosted
from common.db import migrate

SQL = Path(__file__).resolve().parent / "sql"
LEDGER_MIGRATIONS = Path(__file__).resolve().parents[1] / "services" / "ledger" / "migrations"
SCRIPTS = {"minimal": SQL / "transfer_minimal.sql", "as_ledger": SQL / "transfer_as_ledger.sql",
           "hot": SQL / "transfer_hot.sql"}
ACCOUNTS = 10_000
TENANT = uuid.UUID("00000000-0000-4000-8000-00000000be11")

_SEED = Template("""
INSERT INTO tenants (id, credit_mode, low_balance_threshold, version) VALUES ('$tenant', 'individual', 100, 1);
INSERT INTO users (id, tenant_id, role, team, active, send_sms, manage_credits, version)
SELECT md5('user:' || n)::uuid, '$tenant', 'user', 'Team ' || n % 10, true, true, false, 1
FROM generate_series(1, $accounts) AS n;
INSERT INTO accounts (id, tenant_id, code, kind, balance)
SELECT md5('account:' || n)::uuid, '$tenant', 'user:' || md5('user:' || n)::uuid, 'user', 1000000000
FROM generate_series(1, $accounts) AS n;
ANALYZE;
""")


@dataclass
class PgbenchRun:
    script: str
    clients: int
    requested_clients: int
    tps: float
    transactions: int
    failed: int
    latency: dict[str, float | None] = field(default_factory=dict)
    usage: machine.Usage | None = None


def _sample_event() -> Event:
    """A `ledger.transaction.posted` envelope of a real transfer's size, for the outbox and journal rows."""
    a, b = uuid.uuid4(), uuid.uuid4()
    postings = [
        events.Posting(account_id=uuid.uuid4(), account_code=f"user:{a}", amount=-3, balance_after=999_997),
        events.Posting(account_id=uuid.uuid4(), account_code=f"user:{b}", amount=3, balance_after=1_000_003),
    ]
    data = TransactionPosted(transaction_id=uuid.uuid4(), seq=1, tenant_id=TENANT, kind="transfer",
                             occurred_at=datetime.now(UTC), actor_user_id=uuid.uuid4(), postings=postings,
                             terms_version="bench")
    return Event.new(type=events.TRANSACTION_POSTED, source="ledger", subject=str(TENANT), data=data)


def render(script: str, directory: Path) -> Path:
    text = Template(SCRIPTS[script].read_text()).substitute(tenant_id=TENANT, request_hash="0" * 64)
    path = directory / f"{script}.sql"
    path.write_text(text)
    return path


def _json_variables() -> list[str]:
    """The event's JSON as pgbench variables (-D): sent as parameters, as the ledger sends them. Written
    into the script instead, their colons would read as pgbench variable references."""
    event = _sample_event()
    envelope = json.dumps(event.model_dump(mode="json", exclude_none=True))
    return ["-D", f"envelope={envelope}", "-D", f"payload={json.dumps(event.data)}"]


@contextlib.asynccontextmanager
async def scratch_ledger(run_id: str) -> AsyncIterator[str]:
    """A database with the ledger's schema and 10,000 funded accounts; dropped afterwards."""
    name = f"bench_{run_id}_pgbench"
    dsn = await infra.create_database(name)
    try:
        await migrate(dsn, LEDGER_MIGRATIONS)
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(_SEED.substitute(tenant=TENANT, accounts=ACCOUNTS))
        finally:
            await conn.close()
        yield dsn
    finally:
        await infra.drop_databases([name])


def _executable() -> str:
    found = shutil.which("pgbench") or next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"))), None)
    if not found:
        raise FileNotFoundError("pgbench not found (Debian: apt-get install postgresql-client)")
    return str(found)


async def run(dsn: str, script: str, clients: int, seconds: int) -> PgbenchRun:
    """One pgbench run; clients are capped by the connections Postgres has free (it is shared)."""
    requested = clients
    clients = max(1, min(clients, await infra.free_connections() - 10))
    with tempfile.TemporaryDirectory(prefix="bench-pgbench-") as work:
        script_path = render(script, Path(work))
        prefix = str(Path(work) / "tx")
        probe = machine.Probe({})
        probe.start()
        process = await asyncio.create_subprocess_exec(
            # Prepared statements and a thread per core (the clients share them): more threads than
            # cores would only take turns with the server on the same two cores.
            _executable(), "-n", "-M", "prepared", "-c", str(clients), "-j", str(min(clients, os.cpu_count() or 2)),
            "-T", str(seconds), "-f", str(script_path), *_json_variables(),
            "-l", "--sampling-rate", "0.2", "--log-prefix", prefix, dsn,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
        usage = probe.stop()
        text = out.decode()
        if process.returncode not in (0, 2) or "tps =" not in text:  # 2: some transactions failed
            raise RuntimeError(f"pgbench {script} failed: {err.decode()[-1500:]}")
        latencies = _logged_latencies(Path(work))
    return PgbenchRun(
        script=script, clients=clients, requested_clients=requested, tps=_number(r"tps = ([\d.]+)", text),
        transactions=int(_number(r"actually processed: (\d+)", text)),
        failed=int(_number(r"number of failed transactions: (\d+)", text)),
        latency=stats.latency_ms(latencies), usage=usage,
    )


def _number(pattern: str, text: str) -> float:
    found = re.search(pattern, text)
    return float(found.group(1)) if found else 0.0


def _logged_latencies(work: Path) -> list[float]:
    """Seconds per transaction from pgbench's per-transaction logs (third field, microseconds)."""
    latencies = []
    for log in work.glob("tx.*"):
        for line in log.read_text().splitlines():
            fields = line.split()
            if len(fields) > 2 and fields[2].isdigit():
                latencies.append(int(fields[2]) / 1e6)
    return latencies
