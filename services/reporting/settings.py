"""The reporting service's settings, read from the environment."""

from __future__ import annotations

from pydantic import Field

from common.settings import LOCAL_POSTGRES, ServiceSettings


class ReportingSettings(ServiceSettings):
    database_url: str = Field(default=f"{LOCAL_POSTGRES}/reporting", validation_alias="REPORTING_DATABASE_URL")
    port: int = Field(default=8083, validation_alias="REPORTING_PORT", ge=1, le=65535)
    # How long a log request carrying a consistency token may wait for the ledger's event to arrive.
    # Bounded so a lost or slow event delays a page, never hangs it: past this it answers, marked stale.
    consistency_wait_seconds: float = Field(default=2.0, validation_alias="CONSISTENCY_WAIT_SECONDS", ge=0, le=30)
