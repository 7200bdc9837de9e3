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
