import pytest

from common.settings import ServiceSettings, load_settings


def test_missing_secret_stops_start_up_naming_the_variable(monkeypatch, capsys):
    monkeypatch.delenv("INTERNAL_TOKEN_SECRET", raising=False)
    with pytest.raises(SystemExit) as stopped:
        load_settings(ServiceSettings)
    assert stopped.value.code == 2
    assert "INTERNAL_TOKEN_SECRET" in capsys.readouterr().err


def test_defaults_point_at_the_local_servers(monkeypatch):
    monkeypatch.setenv("INTERNAL_TOKEN_SECRET", "k" * 40)
    monkeypatch.delenv("BROKER_URL", raising=False)
    settings = load_settings(ServiceSettings)
    assert settings.broker_url == "amqp://guest:guest@127.0.0.1:5672/"


def test_a_variable_named_like_a_field_is_ignored(monkeypatch):
    # Regression: honcho sets PORT for each process, and it used to override every service's port.
    from services.ledger.settings import LedgerSettings

    monkeypatch.setenv("INTERNAL_TOKEN_SECRET", "k" * 40)
    monkeypatch.setenv("PORT", "5000")
    monkeypatch.setenv("DATABASE_URL", "postgresql://elsewhere/db")
    monkeypatch.delenv("LEDGER_PORT", raising=False)
    monkeypatch.delenv("LEDGER_DATABASE_URL", raising=False)
    settings = load_settings(LedgerSettings)
    assert settings.port == 8081
    assert settings.database_url.endswith("/ledger")
