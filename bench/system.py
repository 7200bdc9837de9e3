"""The services as separate processes, as `make run` starts them, on databases, an exchange and ports
of this run's own. `running(...)` starts the ones a benchmark needs and always cleans up: processes
stopped, databases dropped, exchange and queues deleted, even when the benchmark fails."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import asyncpg

from bench import infra, machine
from bench.results import RESULTS

ROOT = Path(__file__).resolve().parents[1]
MODULES = {"gateway": "gateway", "ledger": "services.ledger", "billing": "services.billing",
           "reporting": "services.reporting", "messaging": "services.messaging", "webhooks": "services.webhooks"}
# Every service, as `make run` starts them (less the fakes: no SMS is sent, so messaging runs without an
# SMSC, as it may: it accepts messages and waits for the carrier).
EVERYTHING = ("ledger", "billing", "reporting", "messaging", "webhooks", "gateway")
# The gateway's /readyz also asks messaging and webhooks, which most benchmarks do not start: its
# /healthz says it is serving (aiohttp binds only after every cleanup context, migrations included, has
# started).
_READY_PATH = {"gateway": "/healthz"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class System:
    name: str  # the benchmark's, for the log folder
    services: tuple[str, ...]
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    ports: dict[str, int] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.ports = {service: free_port() for service in MODULES}
        self.env = self._environment()

    @property
    def exchange(self) -> str:
        return f"bench-{self.run_id}"

    @property
    def secret(self) -> str:
        return self.env["INTERNAL_TOKEN_SECRET"]

    @property
    def log_dir(self) -> Path:
        return RESULTS / "logs" / self.name

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def database_name(self, service: str) -> str:
        return f"bench_{self.run_id}_{service}"

    def database_url(self, service: str) -> str:
        return infra.database_url(self.database_name(service))

    def pids(self) -> dict[str, int]:
        return {name: process.pid for name, process in self.processes.items()}

    def _environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TZ")}
        env.update(
            PYTHONPATH=str(ROOT),
            BROKER_URL=infra.BROKER_URL,
            EXCHANGE_NAME=self.exchange,
            INTERNAL_TOKEN_SECRET=secrets.token_urlsafe(40),
            JWT_SECRET=secrets.token_urlsafe(40),
            TEST_PROVIDER_WEBHOOK_SECRET=secrets.token_urlsafe(40),
            LEDGER_URL=self.url("ledger"),
            BILLING_URL=self.url("billing"),
            REPORTING_URL=self.url("reporting"),
            MESSAGING_URL=self.url("messaging"),
            WEBHOOKS_URL=self.url("webhooks"),
            SMPP_PORT=str(free_port()),  # no SMSC: never another run's simulator
            PUBLIC_BASE_URL=self.url("gateway"),
            BILLING_WEBHOOK_URL=self.url("billing") + "/webhooks/test",
            LOG_LEVEL="INFO",  # what production runs: logging is part of the cost being measured
        )
        # A run signs in a hundred people from one address and sends thousands of writes as each: limits
        # are for runaway clients and guessers, and a benchmark measures the system, not the limiter.
        # Tokens outlive the longest benchmark.
        env.update({"WRITE_LIMIT_PER_USER": "1000000/second", "SIGN_IN_LIMIT_PER_IP": "100000/minute",
                    "SIGN_IN_LIMIT_PER_EMAIL": "100000/minute", "ACCESS_TOKEN_TTL": "3600"})
        for service in MODULES:
            env[f"{service.upper()}_PORT"] = str(self.ports[service])
            env[f"{service.upper()}_DATABASE_URL"] = self.database_url(service)
        return env

    def start(self, service: str) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with (self.log_dir / f"{service}.log").open("wb") as log:  # the child keeps its own descriptor
            self.processes[service] = subprocess.Popen(
                [sys.executable, "-m", MODULES[service]], cwd=ROOT, env=self.env, stdout=log, stderr=log,
            )

    async def wait_ready(self, service: str, limit_seconds: float = 90) -> None:
        deadline = asyncio.get_running_loop().time() + limit_seconds
        path = _READY_PATH.get(service, "/readyz")
        async with aiohttp.ClientSession() as session:
            while True:
                process = self.processes[service]
                if process.poll() is not None:
                    raise RuntimeError(f"{service} exited with {process.returncode}; see {self.log_dir}/{service}.log")
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.get(self.url(service) + path) as response:
                        if response.status == 200:
                            return
                if asyncio.get_running_loop().time() > deadline:
                    raise TimeoutError(f"{service} not ready; see {self.log_dir}/{service}.log")
                await asyncio.sleep(0.2)

    async def backend_pids(self, service: str) -> list[int]:
        """The Postgres backends serving a service's database now (its pool's connections), so their
        CPU can be measured beside the service's own: the split tells Python from SQL."""
        conn = await asyncpg.connect(self.database_url(service))
        try:
            rows = await conn.fetch("""SELECT pid FROM pg_stat_activity
                                       WHERE datname = $1 AND pid <> pg_backend_pid() AND application_name <> $2""",
                                    self.database_name(service), infra.APPLICATION_NAME)
        finally:
            await conn.close()
        return [row["pid"] for row in rows]

    def usage(self) -> dict[str, dict[str, float]]:
        """Peak memory and CPU time of each service over its whole life so far."""
        return {
            name: {"peak_rss_mb": machine.peak_rss_mb(pid), "cpu_seconds": round(machine.process_cpu_seconds(pid), 1)}
            for name, pid in self.pids().items()
        }

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()


@contextlib.asynccontextmanager
async def running(name: str, services: tuple[str, ...]) -> AsyncIterator[System]:
    """Start `services` (in order), with a sink for the queues of those not started; clean up after."""
    system = System(name, services)
    idle_queues = infra.queue_names(system.exchange, frozenset(MODULES) - frozenset(services))
    sink = infra.QueueSink(idle_queues)
    try:
        for service in services:
            system.start(service)
        for service in services:
            await system.wait_ready(service)
        await sink.start()
        yield system
    finally:
        await sink.stop()
        system.stop_all()
        # Each step on its own: a failure to delete the exchange must not leave the databases behind.
        with contextlib.suppress(Exception):
            await infra.delete_topology(system.exchange)
        await infra.drop_databases([system.database_name(service) for service in MODULES])
