"""The messaging service's settings, read from the environment."""

from __future__ import annotations

from pydantic import Field

from common.settings import LOCAL_POSTGRES, ServiceSettings


class MessagingSettings(ServiceSettings):
    database_url: str = Field(default=f"{LOCAL_POSTGRES}/messaging", validation_alias="MESSAGING_DATABASE_URL")
    port: int = Field(default=8084, validation_alias="MESSAGING_PORT")
    # The carrier's SMSC (or the local simulator, `python -m fakes.smsc`).
    smpp_host: str = Field(default="127.0.0.1", validation_alias="SMPP_HOST")
    smpp_port: int = Field(default=2775, validation_alias="SMPP_PORT")
    smpp_system_id: str = Field(default="smscredits", validation_alias="SMPP_SYSTEM_ID", max_length=15)
    smpp_password: str = Field(default="", validation_alias="SMPP_PASSWORD", max_length=8)
    smpp_source_addr: str = Field(default="SMSCredits", validation_alias="SMPP_SOURCE_ADDR", max_length=11)
    # Throttling towards the carrier: at most `window` submits awaiting an answer, at most
    # `rate_per_second` submits a second (a token bucket), as the carrier's contract allows.
    smpp_window: int = Field(default=10, validation_alias="SMPP_WINDOW", ge=1, le=1000)
    smpp_rate_per_second: float = Field(default=50.0, validation_alias="SMPP_RATE_PER_SECOND", gt=0)
    smpp_reconnect_seconds: float = Field(default=2.0, validation_alias="SMPP_RECONNECT_SECONDS", gt=0)
    smpp_submit_timeout: float = Field(default=10.0, validation_alias="SMPP_SUBMIT_TIMEOUT_SECONDS", gt=0)
    # The optional parameter that carries each segment's stable reference (a vendor-specific tag); the
    # simulator de-duplicates by it. 0 leaves it out, for a carrier that refuses unknown tags.
    smpp_reference_tlv: int = Field(default=0x1400, validation_alias="SMPP_REFERENCE_TLV", ge=0, le=0x3FFF)
    # No segment is submitted later than this before its hold expires.
    hold_margin_seconds: float = Field(default=60.0, validation_alias="HOLD_MARGIN_SECONDS", ge=0)
    expiry_sweep_seconds: float = Field(default=5.0, validation_alias="EXPIRY_SWEEP_SECONDS", gt=0)
    # A recipient whose delivery receipt has not come this long after the carrier accepted the message is
    # `expired` (carriers keep trying for up to 48 hours), and its credits come back.
    receipt_validity_seconds: float = Field(default=48 * 3600, validation_alias="RECEIPT_VALIDITY_SECONDS", gt=0)
    receipt_sweep_seconds: float = Field(default=60.0, validation_alias="RECEIPT_SWEEP_SECONDS", gt=0)
