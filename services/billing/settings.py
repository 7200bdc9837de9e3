"""The billing service's settings, read only from the environment."""

from __future__ import annotations

from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from stdnum.au import abn
from stdnum.exceptions import ValidationError as InvalidNumber

from common.mail import MailSettings
from common.settings import LOCAL_POSTGRES


class BillingSettings(MailSettings):
    database_url: str = Field(default=f"{LOCAL_POSTGRES}/billing", validation_alias="BILLING_DATABASE_URL")
    port: int = Field(default=8082, validation_alias="BILLING_PORT", ge=1, le=65535)
    # The gateway's public address: checkout pages are served there, not by this service.
    public_base_url: str = Field(default="http://127.0.0.1:8080", validation_alias="PUBLIC_BASE_URL")
    # Chosen per deployment: `test` (the stand-in processor in `fakes/payments`) or `stripe`.
    payment_provider: Literal["test", "stripe"] = Field(default="test", validation_alias="PAYMENT_PROVIDER")
    # Required with the test provider, which signs its webhooks with it.
    test_provider_webhook_secret: str | None = Field(
        default=None, validation_alias="TEST_PROVIDER_WEBHOOK_SECRET", min_length=16
    )
    billing_webhook_url: str = Field(
        default="http://127.0.0.1:8082/webhooks/test", validation_alias="BILLING_WEBHOOK_URL"
    )
    # How often the test provider re-sends webhooks billing has not acknowledged yet.
    test_provider_retry_seconds: float = Field(
        default=5.0, validation_alias="TEST_PROVIDER_RETRY_SECONDS", gt=0, le=3600
    )
    seller_name: str = Field(default="SMS Credits Pty Ltd", validation_alias="SELLER_NAME", min_length=1)
    seller_abn: str = Field(default="51 824 753 556", validation_alias="SELLER_ABN")
    seller_address: str = Field(
        default="Level 1, 1 Example Street, Sydney NSW 2000", validation_alias="SELLER_ADDRESS"
    )
    # Invoices are dated in the seller's time zone: a tax invoice dated in UTC can be a day off.
    # Auto top-up's daily cap counts days in it too.
    invoice_timezone: str = Field(default="Australia/Sydney", validation_alias="INVOICE_TIMEZONE")

    # Stripe (PAYMENT_PROVIDER=stripe). Secrets are SecretStr so that no repr or log line shows them.
    stripe_secret_key: SecretStr | None = Field(default=None, validation_alias="STRIPE_SECRET_KEY")
    stripe_publishable_key: str | None = Field(default=None, validation_alias="STRIPE_PUBLISHABLE_KEY")
    stripe_webhook_secret: SecretStr | None = Field(default=None, validation_alias="STRIPE_WEBHOOK_SECRET")
    # Another address for Stripe's API, such as a local fake in tests; None means Stripe itself.
    stripe_api_base: str | None = Field(default=None, validation_alias="STRIPE_API_BASE")
    stripe_js_url: str = Field(default="https://js.stripe.com/v3/", validation_alias="STRIPE_JS_URL")

    # Email over SMTP: the shared settings (common.mail.MailSettings); billing signs its own mail.
    email_from: str = Field(default="SMS Credits <billing@sms-credits.example>", validation_alias="EMAIL_FROM")

    # How long a top-up charge or a refund may sit half-done (a crash between steps) before the
    # sweeper drives it on; every step is idempotent at the provider, so driving it twice is safe.
    sweep_seconds: float = Field(default=30.0, validation_alias="BILLING_SWEEP_SECONDS", gt=0)

    @model_validator(mode="after")
    def _provider_configured(self) -> BillingSettings:
        if self.payment_provider == "test" and not self.test_provider_webhook_secret:
            raise ValueError("TEST_PROVIDER_WEBHOOK_SECRET is required with PAYMENT_PROVIDER=test")
        if self.payment_provider == "stripe":
            missing = [
                name
                for name, value in (
                    ("STRIPE_SECRET_KEY", self.stripe_secret_key),
                    ("STRIPE_PUBLISHABLE_KEY", self.stripe_publishable_key),
                    ("STRIPE_WEBHOOK_SECRET", self.stripe_webhook_secret),
                )
                if not value
            ]
            if missing:
                raise ValueError(f"PAYMENT_PROVIDER=stripe needs {', '.join(missing)}")
        return self

    @field_validator("seller_abn")
    @classmethod
    def _valid_abn(cls, value: str) -> str:
        try:
            return str(abn.format(abn.validate(value)))
        except InvalidNumber as exc:
            raise ValueError(f"not a valid ABN: {exc}") from None

    @field_validator("invoice_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value
