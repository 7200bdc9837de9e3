"""Settings shared by every service, read only from the environment.

A missing required variable stops the process at start-up with its name, rather than failing on the
first request that needs it.
"""

from __future__ import annotations

import sys
from typing import TypeVar

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432"
LOCAL_RABBITMQ = "amqp://guest:guest@127.0.0.1:5672/"


class ServiceSettings(BaseSettings):
    """What every service process needs; each service adds its own fields."""

    # Fields are read from their aliases only. Without a prefix, pydantic-settings would also read a
    # field by its own name: honcho's PORT or a platform's DATABASE_URL would silently win.
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True, env_prefix="SMS_CREDITS_FIELD_")

    host: str = Field(default="127.0.0.1", validation_alias="HOST")
    broker_url: str = Field(default=LOCAL_RABBITMQ, validation_alias="BROKER_URL")
    exchange: str = Field(default="sms-credits", validation_alias="EXCHANGE_NAME")
    log_level: str = Field(default="INFO", validation_alias="LOG_LEVEL")
    # Signs the short-lived identity tokens the gateway attaches to every call to a service.
    internal_token_secret: str = Field(validation_alias="INTERNAL_TOKEN_SECRET", min_length=32)
    db_pool_size: int = Field(default=8, validation_alias="DB_POOL_SIZE", ge=1, le=100)


SettingsT = TypeVar("SettingsT", bound=BaseSettings)


def load_settings(cls: type[SettingsT]) -> SettingsT:
    """Build settings from the environment, or exit naming every variable that is missing or wrong."""
    try:
        return cls()
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            name = ".".join(str(part) for part in error["loc"])
            lines.append(f"  {name}: {error['msg']}")
        sys.stderr.write(f"{cls.__name__}: invalid environment\n" + "\n".join(lines) + "\n")
        raise SystemExit(2) from None
