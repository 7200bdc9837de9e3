"""A service's own broker URL (`LEDGER_BROKER_URL`) wins over the shared BROKER_URL, for that service only:
`make run` gives every process one environment, and each finds its own user in it."""

from __future__ import annotations

import pytest

from common.settings import own_broker_variable
from gateway.settings import GatewaySettings
from services.billing.settings import BillingSettings
from services.ledger.settings import LedgerSettings

SECRET = "s" * 40


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTERNAL_TOKEN_SECRET", SECRET)
    monkeypatch.setenv("JWT_SECRET", SECRET)
    monkeypatch.setenv("TEST_PROVIDER_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("BROKER_URL", "amqp://shared@broker/")
    monkeypatch.setenv("LEDGER_BROKER_URL", "amqp://sms_ledger@broker/sms-credits")


def test_the_services_own_url_wins_for_it_alone() -> None:
    # The secrets come from the environment (the fixture), which mypy cannot see.
    assert LedgerSettings().broker_url == "amqp://sms_ledger@broker/sms-credits"  # type: ignore[call-arg]
    assert BillingSettings().broker_url == "amqp://shared@broker/"  # type: ignore[call-arg]


def test_without_it_the_shared_url_and_an_explicit_value_wins_over_both(monkeypatch: pytest.MonkeyPatch) -> None:
    assert LedgerSettings(broker_url="amqp://given/").broker_url == "amqp://given/"  # type: ignore[call-arg]
    monkeypatch.setenv("GATEWAY_BROKER_URL", "")
    assert GatewaySettings().broker_url == "amqp://shared@broker/"  # type: ignore[call-arg]


def test_the_variable_is_named_after_the_services_database() -> None:
    assert own_broker_variable(LedgerSettings) == "LEDGER_BROKER_URL"
    assert own_broker_variable(GatewaySettings) == "GATEWAY_BROKER_URL"
