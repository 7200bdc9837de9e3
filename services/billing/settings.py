"""The billing service's settings, read only from the environment."""

from __future__ import annotations

from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from stdnum.au import abn
from stdnum.exceptions import ValidationError as InvalidNumber

from common.settings import LOCAL_POSTGRES, ServiceSettings


class BillingSettings(ServiceSettings):
    database_url: str = Field(default=f"{LOCAL_POSTGRES}/billing", validation_alias="BILLING_DATABASE_URL")
    port: int = Field(default=8082, validation_alias="BILLING_PORT", ge=1, le=65535)
    # The gateway's public address: checkout pages are served there, not by this service.
    public_base_url: str = Field(default="http://127.0.0.1:8080", validation_alias="PUBLIC_BASE_URL")
    payment_provider: Literal["test"] = Field(default="test", validation_alias="PAYMENT_PROVIDER")
    test_provider_webhook_secret: str = Field(validation_alias="TEST_PROVIDER_WEBHOOK_SECRET", min_length=16)
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
    invoice_timezone: str = Field(default="Australia/Sydney", validation_alias="INVOICE_TIMEZONE")

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
