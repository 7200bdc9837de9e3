"""The ledger's settings, each read from its environment variable."""

from __future__ import annotations

from pydantic import Field

from common.settings import LOCAL_POSTGRES, ServiceSettings


class LedgerSettings(ServiceSettings):
    database_url: str = Field(default=f"{LOCAL_POSTGRES}/ledger", validation_alias="LEDGER_DATABASE_URL")
    port: int = Field(default=8081, validation_alias="LEDGER_PORT")
    max_transfer_quantity: int = Field(default=1_000_000, validation_alias="MAX_TRANSFER_QUANTITY", ge=1)
    hold_sweep_seconds: float = Field(default=1.0, validation_alias="HOLD_SWEEP_SECONDS", gt=0)
    max_hold_seconds: int = Field(default=7 * 24 * 3600, validation_alias="MAX_HOLD_SECONDS", ge=1)
    # How often lapsed lots are looked for: credits expire at most this long after their moment.
    lot_expiry_seconds: float = Field(default=30.0, validation_alias="LOT_EXPIRY_SECONDS", gt=0)
    invariant_check_seconds: float = Field(default=300.0, validation_alias="INVARIANT_CHECK_SECONDS", gt=0)
    # Transfers arriving together are posted in one database transaction (services/ledger/postings/group_commit.py).
    group_commit: bool = Field(default=True, validation_alias="LEDGER_GROUP_COMMIT")
    group_commit_max: int = Field(default=64, validation_alias="LEDGER_GROUP_COMMIT_MAX", ge=1)
    group_commit_writers: int = Field(default=2, validation_alias="LEDGER_GROUP_COMMIT_WRITERS", ge=1)
