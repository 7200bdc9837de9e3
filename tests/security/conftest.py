"""The whole system, started as tests/e2e/conftest.py starts it but with databases, an exchange and a
log folder of its own (test-artifacts/security-logs, emptied first, so that the test that searches the
logs for secrets reads exactly what this run wrote), and a signed-in caller for every role."""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from common.db import connect
from gateway.directory import store
from gateway.directory.domain import Person, Tenant
from gateway.directory.events import announce
from gateway.web.auth import hash_password
from tests.conftest import Infra
from tests.e2e.conftest import DEMO_PASSWORD, ROOT, SERVICES, SIMULATOR, System, _environment
from tests.support import free_port

LOGS = ROOT / "test-artifacts" / "security-logs"
SERVICE_CLIENT = "security-tests"
# Every secret handed out in this run; the log search looks for each.
ISSUED: dict[str, str] = {}


# A tenant of the fuzzer's own: whatever schemathesis changes (a user deactivated, a price list, the
# credit mode) cannot disturb the demo tenants the other tests reason about.
FUZZ_TENANT = Tenant(uuid.uuid5(uuid.NAMESPACE_DNS, "initech.test"), "Initech", "Initech Pty Ltd", None,
                     "individual", "Australia/Sydney")
FUZZ_PEOPLE = [
    Person(uuid.uuid5(uuid.NAMESPACE_DNS, email), FUZZ_TENANT.id, email, name, role, "Ops", True, True, False)  # type: ignore[arg-type]
    for email, name, role in (("master@initech.test", "Bill Lumbergh", "master"),
                              ("peter@initech.test", "Peter Gibbons", "user"))
]


async def _add_fuzz_tenant(dsn: str) -> None:
    conn = await connect(dsn)
    try:
        async with conn.transaction():
            await store.insert_tenant(conn, FUZZ_TENANT)
            for person in FUZZ_PEOPLE:
                await store.insert_person(conn, person, hash_password(DEMO_PASSWORD))
            await announce(conn, [FUZZ_TENANT], FUZZ_PEOPLE)
    finally:
        await conn.close()


class AttackedSystem(System):
    def start(self, service: str) -> None:
        LOGS.mkdir(parents=True, exist_ok=True)
        with (LOGS / f"{service}.log").open("ab") as log:
            self.processes[service] = subprocess.Popen(
                [sys.executable, "-m", {**SERVICES, **SIMULATOR}[service]], cwd=ROOT, env=self.env,
                stdout=log, stderr=log,
            )


@pytest.fixture(scope="package")  # stopped after the last test of this folder (see tests/e2e/conftest.py)
async def attacked(infra: Infra) -> AsyncIterator[AttackedSystem]:
    shutil.rmtree(LOGS, ignore_errors=True)
    own = Infra(infra.postgres_url, infra.broker_url, run_id=f"{infra.run_id}s")
    ports = {service: free_port() for service in [*SERVICES, *SIMULATOR, "smpp"]}
    system = AttackedSystem(own, _environment(own, ports), ports)
    for command in (["seed"], ["service-client", SERVICE_CLIENT]):
        done = subprocess.run([sys.executable, "-m", "gateway", *command], cwd=ROOT, env=system.env,
                              capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr[-2000:]
    ISSUED["service client secret"] = done.stdout.strip()
    await _add_fuzz_tenant(system.database_url("gateway"))
    ISSUED.update({name: system.env[name] for name in ("JWT_SECRET", "INTERNAL_TOKEN_SECRET",
                                                        "TEST_PROVIDER_WEBHOOK_SECRET")})
    try:
        for service in [*SIMULATOR, *SERVICES]:
            system.start(service)
        for service in [*SIMULATOR, *SERVICES]:
            await system.wait_ready(service)
        yield system
    finally:
        await system.tear_down()


@dataclass(frozen=True)
class Caller:
    """One role's way in: its token (None: anonymous)."""

    role: str
    token: str | None

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {**({"Authorization": f"Bearer {self.token}"} if self.token else {}), **(extra or {})}


ROLE_LOGINS = {
    "user": "ben@acme.test",  # Sales
    "team member": "cleo@acme.test",  # Sales, like Ben
    "manage_credits": "dan@acme.test",  # Rentals, may manage every user
    "master": "master@acme.test",
    "other tenant's master": "master@globex.test",
    "operator": "ops@platform.test",
    "fuzz master": "master@initech.test",
}


async def _token(session: aiohttp.ClientSession, base: str, path: str, body: dict[str, str]) -> str:
    async with session.post(base + path, json=body) as response:
        answer: dict[str, Any] = await response.json()
        assert response.status == 200, answer
        return str(answer["access_token"])


@pytest.fixture(scope="package")
async def callers(attacked: AttackedSystem) -> dict[str, Caller]:
    """anonymous, user, team member, manage_credits, master, other tenant's master, operator, service."""
    found = {"anonymous": Caller("anonymous", None)}
    async with aiohttp.ClientSession() as session:
        for role, email in ROLE_LOGINS.items():
            token = await _token(session, attacked.gateway_url, "/api/v1/auth/token",
                                 {"email": email, "password": DEMO_PASSWORD})
            found[role] = Caller(role, token)
        secret = ISSUED["service client secret"]
        found["service"] = Caller("service", await _token(
            session, attacked.gateway_url, "/api/v1/auth/service-token",
            {"client_id": SERVICE_CLIENT, "client_secret": secret}))
    ISSUED.update({f"{role}'s token": c.token for role, c in found.items() if c.token})
    return found


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def new_key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}
