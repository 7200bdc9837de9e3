"""The system under attack: its own Postgres and RabbitMQ (tests/chaos/infra.py) and every service as a
process of its own, started the way tests/e2e/conftest.py's System does, with a supervisor that starts
again whatever died (as systemd or an orchestrator would) and counts it.

Messaging sends to the SMSC simulator (`python -m fakes.smsc`), the outside world: it is started beside
the services, never killed, and its receipts come (or, for the test numbers ending in 98, never come)
within the run; a recipient without one expires after a few seconds, not 48 hours.
"""

from __future__ import annotations

import asyncio
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import asyncpg

from scripts.cluster.replicas import end
from tests.chaos.infra import OwnPostgres, OwnRabbit, free_port

ROOT = Path(__file__).resolve().parents[2]
SERVICES = {"ledger": "services.ledger", "billing": "services.billing", "reporting": "services.reporting",
            "messaging": "services.messaging", "webhooks": "services.webhooks", "gateway": "gateway"}
DATABASES = {"ledger": "ledger", "billing": "billing", "reporting": "reporting", "messaging": "messaging",
             "webhooks": "webhooks", "gateway": "gateway"}
# Not ours, and not a target: the carrier messaging submits to (its HTTP API on ports["smsc"], its SMPP
# port ports["smpp"]).
OUTSIDE = {"smsc": "fakes.smsc"}
EXCHANGE = "chaos"


@dataclass
class ChaosSystem:
    workdir: Path
    postgres: OwnPostgres
    rabbit: OwnRabbit
    ports: dict[str, int] = field(default_factory=lambda: {s: free_port() for s in [*SERVICES, *OUTSIDE, "smpp"]})
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    restarts_after_exit: dict[str, int] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    # Services the injector has killed and not yet restarted: the supervisor leaves them alone.
    held_down: set[str] = field(default_factory=set)

    @classmethod
    def create(cls, workdir: Path) -> ChaosSystem:
        system = cls(workdir, OwnPostgres(workdir / "postgres"), OwnRabbit(workdir / "rabbitmq"))
        system.env = system._environment()
        return system

    @property
    def logs(self) -> Path:
        return self.workdir / "logs"

    @property
    def gateway_url(self) -> str:
        return self.url("gateway")

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def database_url(self, service: str) -> str:
        return f"{self.postgres.url}/{DATABASES[service]}"

    def _environment(self) -> dict[str, str]:
        import os

        env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TZ")}
        env.update(
            PYTHONPATH=str(ROOT),
            BROKER_URL=self.rabbit.url,
            EXCHANGE_NAME=EXCHANGE,
            INTERNAL_TOKEN_SECRET=secrets.token_urlsafe(40),
            JWT_SECRET=secrets.token_urlsafe(40),
            TEST_PROVIDER_WEBHOOK_SECRET=secrets.token_urlsafe(40),
            TEST_PROVIDER_RETRY_SECONDS="1",
            PUBLIC_BASE_URL=self.url("gateway"),
            BILLING_WEBHOOK_URL=f"{self.url('billing')}/webhooks/test",
            LEDGER_URL=self.url("ledger"),
            BILLING_URL=self.url("billing"),
            REPORTING_URL=self.url("reporting"),
            WEBHOOKS_URL=self.url("webhooks"),
            # The campaign's receiver listens on 127.0.0.1; retries come 1000 times sooner than in production
            # (5 ms, 0.3 s, 1.8 s, 7 s, ...) so that a refused delivery is retried within the run.
            WEBHOOK_ALLOW_PRIVATE="true",
            WEBHOOK_RETRY_SCALE="0.001",
            WEBHOOK_POLL_SECONDS="0.2",
            MESSAGING_URL=self.url("messaging"),
            SMPP_PORT=str(self.ports["smpp"]),
            SMSC_SIMULATOR_PORT=str(self.ports["smpp"]),
            SMSC_SIMULATOR_HTTP_PORT=str(self.ports["smsc"]),
            SMSC_SIMULATOR_RECEIPT_SECONDS="0.2",
            # A carrier's answer takes a moment: a kill mid-message finds a segment sent but unrecorded.
            SMSC_SIMULATOR_LATENCY_SECONDS="0.05",
            SMPP_RECONNECT_SECONDS="0.5",
            # A recipient with no receipt (ending in 98, or one whose receipt was lost while messaging was
            # down) expires within the run, and its credits come back.
            RECEIPT_VALIDITY_SECONDS="5",
            RECEIPT_SWEEP_SECONDS="0.5",
            LOG_LEVEL="INFO",
            ACCESS_TOKEN_TTL="7200",
            SERVICE_TIMEOUT_SECONDS="5",
            REQUEST_TIMEOUT_SECONDS="15",
            DB_POOL_SIZE="6",
            HOLD_SWEEP_SECONDS="1",
            # The driver signs in again after a gateway restart, from one address, many times.
            SIGN_IN_LIMIT_PER_IP="100000/minute",
            SIGN_IN_LIMIT_PER_EMAIL="100000/minute",
        )
        for service in SERVICES:
            env[f"{service.upper()}_PORT"] = str(self.ports[service])
            env[f"{service.upper()}_DATABASE_URL"] = self.database_url(service)
        return env

    # -- the servers underneath ---------------------------------------------------------------------

    def start_infrastructure(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        self.workdir.chmod(0o755)  # Postgres runs as its own user and must reach its directory
        self.postgres.init()
        self.postgres.start()
        self.rabbit.init()
        self.rabbit.start()

    def destroy(self) -> None:
        for service in list(self.processes):
            self.kill(service)
        self.rabbit.destroy()
        self.postgres.destroy()

    # -- the services ---------------------------------------------------------------------------------

    def command(self, module: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """A one-off command of a service (`python -m gateway seed`), in the system's environment."""
        return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, env=self.env, capture_output=True,
                              text=True, timeout=timeout, check=False)

    def start(self, service: str) -> None:
        """Start a service, or the outside world's simulator (`smsc`)."""
        self.held_down.discard(service)
        with (self.logs / f"{service}.log").open("ab") as log:  # the child keeps its own descriptor
            self.processes[service] = subprocess.Popen(
                [sys.executable, "-m", {**SERVICES, **OUTSIDE}[service]], cwd=ROOT, env=self.env, stdout=log,
                stderr=log,
            )

    def kill(self, service: str, sig: int = signal.SIGKILL) -> None:
        self.held_down.add(service)
        process = self.processes.pop(service, None)
        if process is not None:
            end(process, sig)

    def pause(self, service: str, seconds: float) -> None:
        process = self.processes.get(service)
        if process is None:
            return
        process.send_signal(signal.SIGSTOP)
        time.sleep(seconds)
        process.send_signal(signal.SIGCONT)

    def stop_all(self) -> None:
        for service in list(self.processes):
            self.kill(service, signal.SIGTERM)

    async def supervise(self) -> None:
        """Start again any service that exited on its own (a start-up while Postgres was down, say)."""
        while True:
            for service, process in list(self.processes.items()):
                if process.poll() is not None and service not in self.held_down:
                    await asyncio.sleep(0.5)
                    # Unless the injector killed and started it meanwhile: never two on one port.
                    if self.processes.get(service) is process and service not in self.held_down:
                        self.restarts_after_exit[service] = self.restarts_after_exit.get(service, 0) + 1
                        self.start(service)
            await asyncio.sleep(0.5)

    async def ready(self, service: str, session: aiohttp.ClientSession) -> bool:
        path = "/healthz" if service == "gateway" else "/readyz"
        try:
            async with session.get(self.url(service) + path, timeout=aiohttp.ClientTimeout(total=3)) as response:
                return response.status == 200
        except (aiohttp.ClientError, TimeoutError):
            return False

    async def wait_ready(self, services: list[str] | None = None, timeout: float = 120) -> None:
        """Every service (or those named, `smsc` among them) answers its readiness check."""
        deadline = asyncio.get_running_loop().time() + timeout
        async with aiohttp.ClientSession() as session:
            for service in services or list(SERVICES):
                while not await self.ready(service, session):
                    if asyncio.get_running_loop().time() > deadline:
                        raise TimeoutError(f"{service} not ready; see {self.logs}/{service}.log")
                    await asyncio.sleep(0.2)

    async def connect(self, service: str) -> asyncpg.Connection:
        return await asyncpg.connect(self.database_url(service))
