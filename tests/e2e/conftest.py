"""Starts the whole system as separate processes, exactly as `make run` does, on ports and databases
of this test run's own, and gives tests a client of the gateway."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from playwright.async_api import Browser, async_playwright

from tests.conftest import Infra, delete_topology
from tests.e2e.browser_helpers import CHROMIUM, CHROMIUM_ARGS
from tests.e2e.event_capture import MIN_TYPES_WHOLE_RUN, EventCapture, whole_package_ran
from tests.support import free_port

ROOT = Path(__file__).resolve().parents[2]
LOGS = ROOT / "test-artifacts" / "e2e-logs"
SERVICES = {"ledger": "services.ledger", "billing": "services.billing",
            "reporting": "services.reporting", "messaging": "services.messaging", "webhooks": "services.webhooks",
            "gateway": "gateway"}
# The local SMSC messaging sends to (its SMPP port is ports["smpp"], its HTTP API ports["smsc"]).
SIMULATOR = {"smsc": "fakes.smsc"}
# Slow enough that a batch of messages takes a couple of seconds (a process can be killed mid-batch).
SMPP_RATE_PER_SECOND = 40
DEMO_PASSWORD = "demo-password"


def _reap(process: subprocess.Popen[bytes]) -> None:
    """Wait for a signalled process to exit; SIGKILL it after 15 s."""
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass
class System:
    infra: Infra
    env: dict[str, str]
    ports: dict[str, int]
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['gateway']}"

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def database_url(self, service: str) -> str:
        return self.env[f"{service.upper()}_DATABASE_URL"]

    def start(self, service: str) -> None:
        self._spawn(service, {**SERVICES, **SIMULATOR}[service], self.env)

    def _spawn(self, name: str, module: str, env: dict[str, str]) -> None:
        LOGS.mkdir(parents=True, exist_ok=True)
        with (LOGS / f"{name}.log").open("ab") as log:  # the child keeps its own descriptor
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", module], cwd=ROOT, env=env, stdout=log, stderr=log,
            )

    @contextlib.asynccontextmanager
    async def beside(self, name: str, module: str, env: dict[str, str], port: int | None = None
                     ) -> AsyncIterator[None]:
        """Another process beside the system's, set up otherwise (a second gateway worker sending its
        emails somewhere, a mail catcher), sharing its databases; stopped when done. With a `port`, it is
        an HTTP service, ready before this yields."""
        self._spawn(name, module, env)
        if port is not None:
            self.ports[name] = port
        try:
            if port is not None:
                await self.wait_ready(name)
            yield
        finally:
            if name in self.processes:
                self.stop(name)

    def stop(self, service: str, sig: int = signal.SIGTERM) -> None:
        process = self.processes.pop(service)
        process.send_signal(sig)
        _reap(process)

    def stop_all(self) -> None:
        """SIGTERM every process at once, then wait for each."""
        stopping = [self.processes.pop(service) for service in list(self.processes)]
        for process in stopping:
            process.terminate()
        for process in stopping:
            _reap(process)

    async def tear_down(self) -> None:
        """Stop every process (in a thread: the loop keeps serving the other fixtures' connections), then
        remove the exchange, its queues and the databases, each step bounded: a teardown waiting for ever on
        the broker or on Postgres would hang the whole run."""
        await asyncio.to_thread(self.stop_all)
        async with asyncio.timeout(60):
            await delete_topology(self.infra.broker_url, self.env["EXCHANGE_NAME"])
        admin = await asyncpg.connect(self.infra.database_url("postgres"), timeout=10)
        try:
            for service in SERVICES:
                name = self.database_url(service).rsplit("/", 1)[1]
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', timeout=30)
        finally:
            await admin.close()

    async def wait_ready(self, service: str, timeout: float = 60) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        async with aiohttp.ClientSession() as session:
            while True:
                process = self.processes[service]
                if process.poll() is not None:
                    raise RuntimeError(f"{service} exited with {process.returncode}; see {LOGS}/{service}.log")
                try:
                    async with session.get(self.url(service) + "/readyz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                if asyncio.get_running_loop().time() > deadline:
                    raise TimeoutError(f"{service} not ready; see {LOGS}/{service}.log")
                await asyncio.sleep(0.2)


def _environment(infra: Infra, ports: dict[str, int]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TZ")}
    env.update(
        PYTHONPATH=str(ROOT),
        BROKER_URL=infra.broker_url,
        EXCHANGE_NAME=f"e2e-{infra.run_id}",
        INTERNAL_TOKEN_SECRET=secrets.token_urlsafe(40),
        JWT_SECRET=secrets.token_urlsafe(40),
        TEST_PROVIDER_WEBHOOK_SECRET=secrets.token_urlsafe(40),
        LEDGER_URL=f"http://127.0.0.1:{ports['ledger']}",
        BILLING_URL=f"http://127.0.0.1:{ports['billing']}",
        REPORTING_URL=f"http://127.0.0.1:{ports['reporting']}",
        MESSAGING_URL=f"http://127.0.0.1:{ports['messaging']}",
        WEBHOOKS_URL=f"http://127.0.0.1:{ports['webhooks']}",
        # Webhook receivers in the tests listen on 127.0.0.1, and a retry comes in milliseconds, not minutes.
        WEBHOOK_ALLOW_PRIVATE="true",
        WEBHOOK_RETRY_SCALE="0.0001",
        WEBHOOK_POLL_SECONDS="0.1",
        SMPP_PORT=str(ports["smpp"]),
        SMSC_SIMULATOR_PORT=str(ports["smpp"]),
        SMSC_SIMULATOR_HTTP_PORT=str(ports["smsc"]),
        SMSC_SIMULATOR_RECEIPT_SECONDS="0.2",
        # A carrier's answer takes a moment: a kill mid-batch then finds segments sent but unrecorded.
        SMSC_SIMULATOR_LATENCY_SECONDS="0.05",
        SMPP_RATE_PER_SECOND=str(SMPP_RATE_PER_SECOND),
        SMPP_RECONNECT_SECONDS="0.5",
        PUBLIC_BASE_URL=f"http://127.0.0.1:{ports['gateway']}",
        BILLING_WEBHOOK_URL=f"http://127.0.0.1:{ports['billing']}/webhooks/test",
        LOG_LEVEL="INFO",
        # A lot lapsing a few seconds from now expires within the test, not half a minute later.
        LOT_EXPIRY_SECONDS="0.5",
        # A recipient with no receipt (the simulator's numbers ending in 98) expires in seconds, not 48 hours.
        RECEIPT_VALIDITY_SECONDS="4",
        RECEIPT_SWEEP_SECONDS="0.5",
        # Every test signs people in from one address; the limits themselves are tested on their own.
        SIGN_IN_LIMIT_PER_IP="100000/minute",
        SIGN_IN_LIMIT_PER_EMAIL="100000/minute",
    )
    for service in SERVICES:
        env[f"{service.upper()}_PORT"] = str(ports[service])
        env[f"{service.upper()}_DATABASE_URL"] = infra.database_url(f"t_{infra.run_id}_e2e_{service}")
    return env


# `make cluster-e2e` (scripts/cluster) runs tests here against a running cluster instead: every service
# twice behind HAProxy, three RabbitMQ nodes, reporting reading from a Postgres replica. Only tests that talk
# to the system through the gateway and the bus belong in that run; none starts or stops a process there.
CLUSTER_GATEWAY = "CLUSTER_GATEWAY_URL"


def _the_running_cluster() -> System:
    gateway = os.environ[CLUSTER_GATEWAY]
    infra = Infra(postgres_url=os.environ["CLUSTER_POSTGRES_URL"], broker_url=os.environ["CLUSTER_BROKER_URL"])
    # The cluster's own settings (`make cluster-e2e` gives the tests .env's secrets): a one-off command such
    # as `gateway service-client` runs against the cluster's gateway database.
    env = {**os.environ, "EXCHANGE_NAME": os.environ["CLUSTER_EXCHANGE_NAME"]}
    env |= {f"{service.upper()}_DATABASE_URL": infra.database_url(service) for service in SERVICES}
    return System(infra, env, {"gateway": int(gateway.rsplit(":", 1)[1])})


# Package scope: the system stops when the last end-to-end test is done, not when the whole run is. Kept
# to the end, it sat beside every later test (and tests/security's own system) holding Postgres
# connections and two cores' worth of idle relays and consumers.
@pytest.fixture(scope="package")
async def system(infra: Infra) -> AsyncIterator[System]:
    if CLUSTER_GATEWAY in os.environ:
        yield _the_running_cluster()
        return
    ports = {service: free_port() for service in [*SERVICES, *SIMULATOR, "smpp"]}
    system = System(infra, _environment(infra, ports), ports)
    seeded = subprocess.run(
        [sys.executable, "-m", "gateway", "seed"], cwd=ROOT, env=system.env, capture_output=True, check=False
    )
    assert seeded.returncode == 0, seeded.stderr.decode()[-2000:]
    try:
        for service in [*SIMULATOR, *SERVICES]:
            system.start(service)
        for service in [*SIMULATOR, *SERVICES]:
            await system.wait_ready(service)
        yield system
    finally:
        await system.tear_down()


@pytest.fixture(scope="package")
async def browser() -> AsyncIterator[Browser]:
    """One headless Chromium for every browser test here, closed with the system."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


class Client:
    """A signed-in person talking to the gateway as a browser or script would."""

    def __init__(self, session: aiohttp.ClientSession, base: str, token: str | None = None) -> None:
        self.session, self.base, self.token = session, base, token

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return {**headers, **(extra or {})}

    async def get(self, path: str, **kwargs: Any) -> tuple[int, Any]:
        async with self.session.get(self.base + path, headers=self._headers(), **kwargs) as r:
            return r.status, await r.json(content_type=None)

    async def post(self, path: str, body: Any, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        async with self.session.post(self.base + path, json=body, headers=self._headers(headers)) as r:
            return r.status, await r.json(content_type=None)

    async def put(self, path: str, body: Any, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        async with self.session.put(self.base + path, json=body, headers=self._headers(headers)) as r:
            return r.status, await r.json(content_type=None)

    async def get_bytes(self, path: str) -> tuple[int, bytes, str]:
        async with self.session.get(self.base + path, headers=self._headers()) as r:
            return r.status, await r.read(), r.content_type


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def sign_in(system: System, http: aiohttp.ClientSession) -> Iterator[Any]:
    async def login(email: str) -> Client:
        anonymous = Client(http, system.gateway_url)
        status, body = await anonymous.post("/api/v1/auth/token", {"email": email, "password": DEMO_PASSWORD})
        assert status == 200, body
        return Client(http, system.gateway_url, body["access_token"])

    yield login


@pytest.fixture(scope="package", autouse=True)
async def events_keep_their_schemas(system: System, request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Every event published while the e2e tests run validates against its published JSON Schema."""
    capture = EventCapture(system.infra.broker_url, system.env["EXCHANGE_NAME"])
    await capture.start()
    yield
    await capture.stop()
    whole_package = whole_package_ran([item.path for item in request.session.items], Path(__file__).parent)
    problems = capture.problems(min_types=MIN_TYPES_WHOLE_RUN if whole_package else 0)
    print(f"\nevents captured: {len(capture.messages)}, by type: {dict(capture.types_seen())}")  # shown with -s
    if problems:
        pytest.fail(problems, pytrace=False)
