"""The floor: what a transfer costs in the design's shape with none of the product's work, so that the
whole system's CPU per transfer (`system`) can be read against what its shape alone costs on this
machine. Its two parts, each measured here:

- the SQL: pgbench running the transfer's statements on the hot account at 32 clients (bench/sql/
  transfer_hot.sql: two guarded balance updates, the transaction, two postings, an outbox row, one
  commit), the whole machine's CPU per transaction, Postgres and pgbench's own client together (which
  stands for the ledger's database driver);
- the HTTP: two skeleton processes (bench/floor_servers.py), a gateway that only passes bytes on and a
  ledger that parses the request and serialises the event it would write, each aiohttp on uvloop as the
  real ones are, driven by the same load generator as `system`: a closed loop of 32 clients, and an open
  loop at 200/s. One more leg sends to the skeleton ledger directly: what the gateway's hop adds.

Not in the floor: RabbitMQ and the consumers (`queue_costs` measures an event's cost per queue), the
outbox relay, tokens, idempotency, rate limits, the directory, lots, alerts, logging and metrics."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import asdict

import aiohttp

from bench import load, pgbench
from bench.attribution import Cost
from bench.load import Leg
from bench.machine import Probe
from bench.modes import Mode
from bench.options import Options
from bench.results import Result, Row
from bench.system import ROOT, free_port

NAME = "floor"
CLIENTS = 32
OPEN_LOOP_RATE = 200
RECIPIENTS = (2, 3, 4)
SQL_PART = "Postgres and its client (pgbench)"


def account(n: int) -> uuid.UUID:
    """Account n of pgbench.scratch_ledger: md5('account:' || n)::uuid."""
    return uuid.UUID(hashlib.md5(f"account:{n}".encode()).hexdigest())  # noqa: S324 (an id, not a secret)


class HotTransfers:
    """One credit from account 1 to one of three others, posted to a skeleton's /transfer."""

    def __init__(self, url: str) -> None:
        self._url = url + "/transfer"
        self._rng = random.Random()

    async def __call__(self, client: aiohttp.ClientSession) -> str | None:
        body = {"from_account": str(account(1)), "to_account": str(account(self._rng.choice(RECIPIENTS))),
                "quantity": 1, "tenant_id": str(pgbench.TENANT)}
        async with client.post(self._url, json=body) as response:
            await response.read()
            return None if response.status == 201 else f"http_{response.status}"


async def run(mode: Mode, options: Options, result: Result) -> None:
    sql_ms = await _sql_per_transfer(result, mode)
    async with _skeletons() as servers:
        legs = (("gateway and ledger", servers["gateway"], None),
                ("ledger alone", servers["ledger"], None),
                ("gateway and ledger", servers["gateway"], OPEN_LOOP_RATE))
        for label, url, rate in legs:
            request = HotTransfers(url)
            await load.closed_loop(request, CLIENTS, 0, mode.warmup_seconds, Probe({}))
            probe = Probe(servers.pids)
            if rate is None:
                leg = await load.closed_loop(request, CLIENTS, 0, mode.leg_seconds, probe)
                shape = f"c={CLIENTS}"
            else:
                leg = await load.open_loop(request, rate, mode.leg_seconds, probe)
                shape = f"open loop {rate}/s"
            http = _add_rows(result, f"HTTP skeleton, {label}, {shape}", leg)
            if url == servers["gateway"]:
                _add_floor(result, f"floor, hot account, {shape}", http, sql_ms)
    result.notes.append(
        "floor = pgbench's CPU per transaction running the transfer's SQL on the hot account (Postgres and its "
        "client, standing for the ledger's driver) + the HTTP skeleton's gateway, ledger and load generator "
        "per request; no events, no consumers, no product work")


async def _sql_per_transfer(result: Result, mode: Mode) -> float:
    """The whole machine's CPU per transaction of pgbench running the hot-account transfer SQL at 32
    clients, in the better of two runs (a shared machine's bursts only ever make a run worse)."""
    async with pgbench.scratch_ledger(uuid.uuid4().hex[:8]) as dsn:
        runs = [await pgbench.run(dsn, "hot", CLIENTS, mode.pgbench_seconds) for _ in range(2)]
    best = max(runs, key=lambda run: run.tps)
    assert best.usage is not None
    cpu_ms = 1000 * best.usage.machine_cpu_seconds / max(best.transactions, 1)
    result.add(Row(
        case=f"CPU per transaction, pgbench hot c={best.clients}", throughput=round(cpu_ms, 2), unit="CPU ms/tx",
        requests=best.transactions, load1=best.usage.load1,
        note=f"{best.tps:,.0f} tx/s (runs: {', '.join(f'{run.tps:,.0f}' for run in runs)}); the whole machine's "
             "CPU over the run: Postgres and pgbench", details={"runs": [asdict(run) for run in runs]},
    ))
    return cpu_ms


def _add_rows(result: Result, case: str, leg: Leg) -> dict[str, float]:
    """The leg's rows; answers its CPU milliseconds per request, per process."""
    usage = leg.usage
    assert usage is not None
    done = max(len(leg.latencies), 1)
    cost = Cost.of(usage, done)  # each process's CPU, the load generator's among them
    per_process = {name: cost.ms(seconds) for name, seconds in cost.cpu_seconds.items()}
    result.add(Row(
        case=case, throughput=round(leg.throughput, 1), unit="requests/s", **leg.latency_ms(),
        requests=leg.requests, errors=sum(leg.errors.values()), load1=usage.load1,
        note=f"machine {usage.machine_busy_pct}% busy", details={"errors": dict(leg.errors), "usage": asdict(usage)},
    ))
    result.add(Row(
        case=f"CPU per request, {case}", throughput=round(sum(per_process.values()), 2), unit="CPU ms/request",
        requests=done, load1=usage.load1, note=_split(per_process),
        details={"cpu_ms_per_request": {name: round(ms, 3) for name, ms in per_process.items()}},
    ))
    return per_process


def _add_floor(result: Result, case: str, http: dict[str, float], sql_ms: float) -> None:
    parts = {SQL_PART: sql_ms, **http}
    result.add(Row(case=f"CPU per transfer, {case}", throughput=round(sum(parts.values()), 2),
                   unit="CPU ms/transfer", note=_split(parts),
                   details={"cpu_ms_per_transfer": {name: round(ms, 3) for name, ms in parts.items()}}))


def _split(parts: dict[str, float]) -> str:
    return ", ".join(f"{name} {ms:.2f}" for name, ms in sorted(parts.items(), key=lambda item: -item[1]))


class _Servers(dict[str, str]):
    """role -> base URL, and the processes' pids by name."""

    pids: dict[str, int]


@contextlib.asynccontextmanager
async def _skeletons() -> AsyncIterator[_Servers]:
    ports = {"ledger": free_port(), "gateway": free_port()}
    servers = _Servers({role: f"http://127.0.0.1:{port}" for role, port in ports.items()})
    arguments = {"ledger": [str(ports["ledger"])],
                 "gateway": [str(ports["gateway"]), servers["ledger"] + "/transfer"]}
    processes = {role: await asyncio.create_subprocess_exec(
                     sys.executable, "-m", "bench.floor_servers", role, *arguments[role], cwd=ROOT)
                 for role in ("ledger", "gateway")}
    servers.pids = {f"{role} (skeleton)": process.pid for role, process in processes.items()}
    try:
        for role, process in processes.items():
            await _listening(ports[role], process)
        yield servers
    finally:
        for process in processes.values():
            if process.returncode is None:
                process.terminate()
        for process in processes.values():
            await asyncio.wait_for(process.wait(), timeout=15)


async def _listening(port: int, process: asyncio.subprocess.Process, limit_seconds: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + limit_seconds
    while True:
        if process.returncode is not None:
            raise RuntimeError(f"a skeleton server exited with {process.returncode}")
        with contextlib.suppress(OSError):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"no skeleton server on port {port}")
        await asyncio.sleep(0.1)
