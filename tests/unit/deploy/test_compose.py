"""docker-compose.yml's least privilege: each service is given its own Postgres role's and RabbitMQ user's URL and
no other's secret, the superuser and the broker's admin are given to the provisioning steps alone, and the
broker's definitions and the roles script cover every service (docs/security.md)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from scripts import provision

ROOT = Path(__file__).resolve().parents[3]
COMPOSE = ROOT / "docker-compose.yml"


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def _environment(service: str) -> dict[str, str]:
    return {key: str(value) for key, value in (_compose()["services"][service].get("environment") or {}).items()}


def _filled(value: str) -> str:
    return re.sub(r"\$\{[^}]*\}", "password", value)


def _secrets_in(environment: dict[str, str]) -> set[str]:
    return set(re.findall(r"\$\{([A-Z_]+)", " ".join(environment.values())))


@pytest.mark.parametrize("service", provision.SERVICES)
def test_each_service_connects_as_its_own_user_to_its_own_database(service: str) -> None:
    environment = _environment("gateway" if service == "gateway" else service)
    upper = service.upper()
    database = urlsplit(_filled(environment[f"{upper}_DATABASE_URL"]))
    broker = urlsplit(_filled(environment[f"{upper}_BROKER_URL"]))
    assert (database.username, database.path) == (f"sms_{service}", f"/{service}")
    assert (broker.username, broker.path) == (f"sms_{service}", "/sms-credits")
    # Its own passwords and nothing else secret of the others'.
    assert _secrets_in(environment) & set(provision.password_variables()) == {
        f"{upper}_DB_PASSWORD", f"{upper}_BROKER_PASSWORD"}
    assert "BROKER_URL" not in environment
    assert not [key for key in environment if key.endswith("_DATABASE_URL") and key != f"{upper}_DATABASE_URL"]


def test_the_superuser_and_the_admin_are_given_to_the_provisioning_steps_alone() -> None:
    holders = {name: _secrets_in(_environment(name)) for name in _compose()["services"]}
    assert {n for n, s in holders.items() if "POSTGRES_ADMIN_PASSWORD" in s} == {"postgres", "postgres-roles"}
    assert {n for n, s in holders.items() if "BROKER_ADMIN_PASSWORD" in s} == {"rabbitmq", "topology"}
    assert _compose()["services"]["postgres"]["environment"]["POSTGRES_HOST_AUTH_METHOD"] == "scram-sha-256"
    text = COMPOSE.read_text()
    assert "guest:guest" not in text and "postgres:postgres@" not in text


def test_every_service_waits_for_its_role_and_the_topology() -> None:
    for name in provision.SERVICES:
        service = _compose()["services"]["seed" if name == "gateway" else name]
        assert service["depends_on"]["postgres-roles"] == {"condition": "service_completed_successfully"}
        assert service["depends_on"]["topology"] == {"condition": "service_completed_successfully"}


def test_the_broker_is_given_every_password_its_definitions_name() -> None:
    named = set(re.findall(r"\$\{([A-Z_]+)\}", provision.DEFINITIONS.read_text()))
    assert named == {f"{s.upper()}_BROKER_PASSWORD" for s in provision.SERVICES} | {"BROKER_ADMIN_PASSWORD"}
    assert named <= set(_environment("rabbitmq"))
    users = {u["name"] for u in json.loads(provision.DEFINITIONS.read_text())["users"]}
    assert users == {f"sms_{s}" for s in provision.SERVICES} | {"sms_admin"}


def test_the_roles_script_makes_every_services_role() -> None:
    script = (ROOT / "deploy" / "postgres" / "roles.sh").read_text()
    [services] = re.findall(r"^for service in ([a-z ]+); do", script, re.MULTILINE)
    assert tuple(services.split()) == provision.SERVICES
    assert set(_environment("postgres-roles")) >= {f"{s.upper()}_DB_PASSWORD" for s in provision.SERVICES}


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose is not installed")
def test_compose_accepts_the_file_and_refuses_it_without_the_passwords(tmp_path: Path) -> None:
    names = (*provision.password_variables(), "POSTGRES_ADMIN_PASSWORD")
    base = {k: v for k, v in os.environ.items() if k not in names}
    # No .env read: this checkout's own would hold the passwords.
    (tmp_path / "empty.env").write_text("")
    command = ["docker-compose", "--env-file", str(tmp_path / "empty.env"), "-f", str(COMPOSE), "config", "-q"]
    given = subprocess.run(command, capture_output=True, text=True, check=False,
                           env={**base, **{name: "x" for name in names}})
    assert given.returncode == 0, given.stderr
    missing = subprocess.run(command, capture_output=True, text=True, check=False, env=base)
    assert missing.returncode != 0 and "scripts.provision passwords" in missing.stderr
