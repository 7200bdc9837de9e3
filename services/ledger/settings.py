from __future__ import annotations

from pydantic import Field

from common.settings import LOCAL_POSTGRES, ServiceSettings


class LedgerSettings(ServiceSettings):
    database_url: str = Field(default=f"{LOCAL_POSTGRES}/ledger", validation_alias="LEDGER_DATABASE_URL")
    port: int = Field(default=8081, validation_alias="LEDGER_PORT")
