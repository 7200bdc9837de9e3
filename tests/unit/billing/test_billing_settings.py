from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.billing.settings import BillingSettings


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("BILLING_DATABASE_URL", "BILLING_PORT", "PUBLIC_BASE_URL", "SELLER_ABN", "BILLING_WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("INTERNAL_TOKEN_SECRET", "i" * 40)
    monkeypatch.setenv("TEST_PROVIDER_WEBHOOK_SECRET", "w" * 16)
    return monkeypatch


def test_defaults_name_the_local_billing_database_and_a_valid_seller_abn(environment: pytest.MonkeyPatch) -> None:
    settings = BillingSettings()  # type: ignore[call-arg]
    assert settings.database_url == "postgresql://postgres@127.0.0.1:5432/billing"
    assert (settings.port, settings.payment_provider) == (8082, "test")
    assert settings.billing_webhook_url == "http://127.0.0.1:8082/webhooks/test"
    assert settings.seller_abn == "51 824 753 556"


def test_settings_are_read_from_the_environment(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("BILLING_PORT", "9999")
    environment.setenv("PUBLIC_BASE_URL", "https://sms.example")
    settings = BillingSettings()  # type: ignore[call-arg]
    assert (settings.port, settings.public_base_url) == (9999, "https://sms.example")


def test_the_seller_abn_is_validated_and_normalised(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("SELLER_ABN", "51824753556")
    assert BillingSettings().seller_abn == "51 824 753 556"  # type: ignore[call-arg]
    environment.setenv("SELLER_ABN", "51 824 753 557")
    with pytest.raises(ValidationError):
        BillingSettings()  # type: ignore[call-arg]


def test_the_webhook_secret_is_required_and_at_least_16_characters(environment: pytest.MonkeyPatch) -> None:
    environment.delenv("TEST_PROVIDER_WEBHOOK_SECRET")
    with pytest.raises(ValidationError):
        BillingSettings()  # type: ignore[call-arg]
    environment.setenv("TEST_PROVIDER_WEBHOOK_SECRET", "short")
    with pytest.raises(ValidationError):
        BillingSettings()  # type: ignore[call-arg]


def test_an_unknown_payment_provider_is_refused(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("PAYMENT_PROVIDER", "paypal")
    with pytest.raises(ValidationError):
        BillingSettings()  # type: ignore[call-arg]


def test_stripe_needs_its_three_keys_and_then_no_test_provider_secret(environment: pytest.MonkeyPatch) -> None:
    environment.delenv("TEST_PROVIDER_WEBHOOK_SECRET")
    environment.setenv("PAYMENT_PROVIDER", "stripe")
    with pytest.raises(ValidationError, match="STRIPE_SECRET_KEY"):
        BillingSettings()  # type: ignore[call-arg]
    environment.setenv("STRIPE_SECRET_KEY", "sk_test_123")
    environment.setenv("STRIPE_PUBLISHABLE_KEY", "pk_test_123")
    environment.setenv("STRIPE_WEBHOOK_SECRET", "whsec_123")
    settings = BillingSettings()  # type: ignore[call-arg]
    assert settings.payment_provider == "stripe"
    assert "sk_test_123" not in repr(settings) and "whsec_123" not in repr(settings)


def test_smtp_is_off_until_a_host_is_set_and_its_password_never_shows(environment: pytest.MonkeyPatch) -> None:
    assert BillingSettings().smtp_host is None  # type: ignore[call-arg]
    environment.setenv("SMTP_HOST", "smtp.example.com")
    environment.setenv("SMTP_PASSWORD", "hunter22")
    settings = BillingSettings()  # type: ignore[call-arg]
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_security) == ("smtp.example.com", 587, "starttls")
    assert "hunter22" not in repr(settings)
