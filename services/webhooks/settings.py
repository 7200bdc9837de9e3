"""The webhooks service's settings, read from the environment."""

from __future__ import annotations

from pydantic import Field

from common.mail import MailSettings
from common.settings import LOCAL_POSTGRES


# MailSettings: SMTP_HOST and the other email settings (common.mail): a disabled endpoint's master is told.
class WebhooksSettings(MailSettings):
    database_url: str = Field(default=f"{LOCAL_POSTGRES}/webhooks", validation_alias="WEBHOOKS_DATABASE_URL")
    port: int = Field(default=8086, validation_alias="WEBHOOKS_PORT")
    # Targets on loopback, private, link-local and other non-public addresses are refused (an SSRF guard)
    # unless this is true: for `make run` and the tests, whose receivers listen on 127.0.0.1.
    allow_private: bool = Field(default=False, validation_alias="WEBHOOK_ALLOW_PRIVATE")
    # Multiplies the retry schedule (5 s, 5 min, ... about 3 days in all): tests run it in milliseconds.
    retry_scale: float = Field(default=1.0, validation_alias="WEBHOOK_RETRY_SCALE", gt=0, le=1)
    # How often the delivery worker looks for due deliveries when it found none the last time.
    poll_seconds: float = Field(default=0.5, validation_alias="WEBHOOK_POLL_SECONDS", gt=0)
    # One POST to a receiver may take this long, connection included.
    timeout_seconds: float = Field(default=10.0, validation_alias="WEBHOOK_TIMEOUT_SECONDS", gt=0, le=60)
    # Deliveries attempted at once (each to a different endpoint: one in flight per endpoint).
    batch_size: int = Field(default=20, validation_alias="WEBHOOK_BATCH_SIZE", ge=1, le=500)
