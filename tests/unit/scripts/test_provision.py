"""scripts/provision.py without servers: the RabbitMQ permissions cover exactly a service's own queues (never
another's by a shared prefix), each service publishes only its own events, and the passwords are made once,
kept private, and taken from the environment first."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import pytest

from common.contracts.catalogue import CATALOGUE
from common.contracts.queues import TOPOLOGY
from scripts import provision
from scripts.local_infra import settings_for_run

EXCHANGE = "sms-credits"


def _matches(pattern: str, name: str) -> bool:
    # RabbitMQ's patterns are Erlang `re` (PCRE); these use nothing Python's `re` reads differently.
    return re.search(pattern, name) is not None


def _queues_of(service: str) -> list[str]:
    return [f"{EXCHANGE}.{spec.name}" for spec in TOPOLOGY if spec.service == service]


@pytest.mark.parametrize("service", provision.SERVICES)
def test_a_service_may_configure_exactly_its_own_queues(service: str) -> None:
    allowed = provision.broker_permissions(service, EXCHANGE)
    own = _queues_of(service)
    assert own, f"{service} consumes nothing?"
    for queue in own:
        for name in (queue, f"{queue}.dlq"):
            assert _matches(allowed.configure, name) and _matches(allowed.write, name) and _matches(allowed.read, name)
        # Near misses: a longer name, another suffix, the name inside another.
        for near in (f"{queue}x", f"{queue}.dlqx", f"{queue}.dlq.x", f"x{queue}", f"{queue}.other"):
            assert not _matches(allowed.configure, near), near
    others = [queue for spec in TOPOLOGY if spec.service != service for queue in _queues_of(spec.service)]
    for queue in others:
        for name in (queue, f"{queue}.dlq", f"{queue}.filter"):
            assert not any(_matches(p, name) for p in (allowed.configure, allowed.write, allowed.read)), name


def test_a_services_name_as_a_prefix_of_another_grants_nothing() -> None:
    allowed = provision.broker_permissions("ledger", EXCHANGE)
    for name in ("sms-credits.ledgerx.purchases", "sms-credits.ledger-x.purchases", "sms-credits.ledger.purchasesx",
                 "sms-credits.ledger", "sms-creditsx.ledger.purchases", "sms-credits.ledger.purchases.filter"):
        assert not _matches(allowed.configure, name), name


@pytest.mark.parametrize("service", provision.SERVICES)
def test_the_shared_exchanges_are_written_to_and_bound_from_never_configured(service: str) -> None:
    allowed = provision.broker_permissions(service, EXCHANGE)
    for exchange in (EXCHANGE, f"{EXCHANGE}.dlx"):
        assert not _matches(allowed.configure, exchange)  # no service may delete them
        assert _matches(allowed.write, exchange)
    assert _matches(allowed.read, EXCHANGE) and not _matches(allowed.read, f"{EXCHANGE}.dlx")
    assert not _matches(allowed.write, "amq.default")  # no publishing straight into a queue
    assert not _matches(allowed.write, "sms-credits-other") and not _matches(allowed.write, "sms-credits.dlxx")


def test_only_billing_has_a_filter_exchange_of_its_own() -> None:
    billing = provision.broker_permissions("billing", EXCHANGE)
    assert _matches(billing.configure, "sms-credits.billing.ledger-events.filter")
    assert _matches(billing.read, "sms-credits.billing.ledger-events.filter")
    assert not _matches(provision.broker_permissions("reporting", EXCHANGE).configure,
                        "sms-credits.billing.ledger-events.filter")


def test_only_the_gateway_makes_transient_queues() -> None:
    name = "sms-credits.transient.live." + "ab" * 16
    assert _matches(provision.broker_permissions("gateway", EXCHANGE).configure, name)
    assert not _matches(provision.broker_permissions("gateway", EXCHANGE).configure, "sms-credits.transient.live.x")
    assert not _matches(provision.broker_permissions("ledger", EXCHANGE).configure, name)


def test_each_event_is_published_by_its_publisher_alone() -> None:
    for spec in CATALOGUE.values():
        publishers = [s for s in provision.SERVICES
                      if _matches(provision.broker_permissions(s, EXCHANGE).publishes, spec.routing_key)]
        assert publishers == [spec.publisher], spec.type
    assert not _matches(provision.broker_permissions("ledger", EXCHANGE).publishes, "ledgerx.transaction.posted")


def test_the_definitions_give_every_service_its_user_and_the_admin_everything() -> None:
    passwords = {name: f"pw-{name.lower()}" for name in provision.password_variables()}
    names = provision.Names(prefix="t_", vhost="v", exchange="e")
    definitions = provision.broker_definitions(passwords, names)
    users = {u["name"]: u["password"] for u in definitions["users"]}  # type: ignore[attr-defined]
    assert users == {**{f"t_{s}": f"pw-{s}_broker_password" for s in provision.SERVICES},
                     "t_admin": "pw-broker_admin_password"}
    permissions = {p["user"]: p for p in definitions["permissions"]}  # type: ignore[attr-defined]
    assert permissions["t_admin"]["configure"] == ".*"
    assert permissions["t_ledger"]["configure"] == provision.broker_permissions("ledger", "e").configure
    assert {p["vhost"] for p in permissions.values()} == {"v"}
    topics = {p["user"]: p for p in definitions["topic_permissions"]}  # type: ignore[attr-defined]
    assert topics["t_ledger"]["exchange"] == "e" and topics["t_ledger"]["write"] == r"^ledger\."


def test_compose_definitions_are_what_the_script_writes() -> None:
    assert provision.DEFINITIONS.read_text() == provision.compose_definitions(), (
        "run `python -m scripts.provision definitions`")
    assert "${LEDGER_BROKER_PASSWORD}" in json.loads(provision.DEFINITIONS.read_text())["users"][1]["password"]


def test_unsafe_names_are_refused() -> None:
    with pytest.raises(ValueError):
        provision.Names(prefix='x"; DROP ROLE postgres; --').user("ledger")
    with pytest.raises(ValueError):
        provision.broker_permissions("ledger", "sms credits|.*")


def test_passwords_are_made_once_private_and_the_environment_wins(tmp_path: Path) -> None:
    file = tmp_path / "credentials.env"
    first = provision.load_passwords(file, {})
    assert set(first) == set(provision.password_variables()) and len(set(first.values())) == len(first)
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert provision.load_passwords(file, {}) == first
    given = provision.load_passwords(file, {"LEDGER_DB_PASSWORD": "from-env"})
    assert given["LEDGER_DB_PASSWORD"] == "from-env" and given["BILLING_DB_PASSWORD"] == first["BILLING_DB_PASSWORD"]


def test_urls_quote_what_they_carry() -> None:
    assert (provision.database_url("postgresql://postgres@127.0.0.1:5433/postgres", "sms_ledger", "a/b@c", "ledger")
            == "postgresql://sms_ledger:a%2Fb%40c@127.0.0.1:5433/ledger")
    assert provision.broker_url("rabbitmq:5672", "sms_ledger", "p", "sms-credits") == (
        "amqp://sms_ledger:p@rabbitmq:5672/sms-credits")


def test_make_run_gives_each_service_its_own_urls_and_no_shared_broker_url() -> None:
    own = {"LEDGER_DATABASE_URL": "postgresql://sms_ledger:p@127.0.0.1:5432/ledger",
           "LEDGER_BROKER_URL": "amqp://sms_ledger:p@127.0.0.1:5672/sms-credits"}
    chosen = settings_for_run({}, "postgresql://postgres@127.0.0.1:5432", "amqp://guest:guest@127.0.0.1:5672/",
                              Path("/m"), 1025, own)
    assert chosen["LEDGER_DATABASE_URL"] == own["LEDGER_DATABASE_URL"]
    assert chosen["LEDGER_BROKER_URL"] == own["LEDGER_BROKER_URL"]
    assert "BROKER_URL" not in chosen  # guest is given to no process


def test_a_new_env_file_holds_every_password_compose_asks_for() -> None:
    import re

    from scripts import new_env, provision

    compose = (provision.ROOT / "docker-compose.yml").read_text()
    asked = set(re.findall(r"\$\{([A-Z_]+_PASSWORD):\?", compose))
    assert asked and asked <= set(new_env.PASSWORDS)
    assert set(provision.password_variables()) <= set(new_env.PASSWORDS)
