"""Settings shared by every service, read only from the environment.

A missing required variable stops the process at start-up with its name, rather than failing on the
first request that needs it.
"""

from __future__ import annotations

import os
import sys
from typing import Any, TypeVar

from pydantic import Field, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432"
LOCAL_RABBITMQ = "amqp://guest:guest@127.0.0.1:5672/"


class ServiceSettings(BaseSettings):
    """What every service process needs; each service adds its own fields."""

    # Fields are read from their aliases only. Without a prefix, pydantic-settings would also read a
    # field by its own name: honcho's PORT or a platform's DATABASE_URL would silently win.
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True, env_prefix="SMS_CREDITS_FIELD_")

    host: str = Field(default="127.0.0.1", validation_alias="HOST")
    # The service's own broker credentials, `<SERVICE>_BROKER_URL` (LEDGER_BROKER_URL), win over the shared
    # BROKER_URL: `make run` gives every process one environment, and each must find its own user there.
    broker_url: str = Field(default=LOCAL_RABBITMQ, validation_alias="BROKER_URL")
    exchange: str = Field(default="sms-credits", validation_alias="EXCHANGE_NAME")
    log_level: str = Field(default="INFO", validation_alias="LOG_LEVEL")
    # Signs the short-lived identity tokens the gateway attaches to every call to a service.
    internal_token_secret: str = Field(validation_alias="INTERNAL_TOKEN_SECRET", min_length=32)
    db_pool_size: int = Field(default=8, validation_alias="DB_POOL_SIZE", ge=1, le=100)

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, OwnBrokerUrl(settings_cls), env_settings, dotenv_settings, file_secret_settings


def own_broker_variable(settings_cls: type[BaseSettings]) -> str | None:
    """`LEDGER_BROKER_URL` for the settings whose database is LEDGER_DATABASE_URL: a service is named by the
    database it owns, so the six settings classes need not repeat their names."""
    database = settings_cls.model_fields.get("database_url")
    alias = database.validation_alias if database is not None else None
    if isinstance(alias, str) and alias.endswith("_DATABASE_URL"):
        return alias.removesuffix("_DATABASE_URL") + "_BROKER_URL"
    return None


class OwnBrokerUrl(PydanticBaseSettingsSource):
    """The service's own `<SERVICE>_BROKER_URL`, read before BROKER_URL (a source listed earlier wins)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        variable = own_broker_variable(self.settings_cls)
        if variable is None or not os.environ.get(variable):
            return {}
        # Under the field's alias, as the environment source answers it, so that the merge of the sources
        # (an earlier one wins) sees one key.
        return {"BROKER_URL": os.environ[variable]}


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
