"""The reporting service's settings, read from the environment."""

from __future__ import annotations

from pydantic import Field

from common.settings import LOCAL_POSTGRES, ServiceSettings


class ReportingSettings(ServiceSettings):
    database_url: str = Field(default=f"{LOCAL_POSTGRES}/reporting", validation_alias="REPORTING_DATABASE_URL")
    # A streaming replica of the same database (its own server, same database name): when set, the log's
    # reads (pages, CSV, report, usage) are served there, falling back to the primary while it is down;
    # consumers, migrations and the purge always use REPORTING_DATABASE_URL. See docs/consistency.md.
    read_database_url: str | None = Field(default=None, validation_alias="REPORTING_READ_DATABASE_URL")
    port: int = Field(default=8083, validation_alias="REPORTING_PORT", ge=1, le=65535)
    # How long a log request carrying a consistency token may wait for the ledger's event to arrive.
    # Bounded so a lost or slow event delays a page, never hangs it: past this it answers, marked stale.
    consistency_wait_seconds: float = Field(default=2.0, validation_alias="CONSISTENCY_WAIT_SECONDS", ge=0, le=30)
    # Rows older than this are deleted by a background task, a small batch per short transaction, so
    # the purge never holds locks or a snapshot for long. Longer than the 30-day log on purpose: a
    # report's opening balance reads the row before its period.
    log_retention_days: int = Field(default=400, validation_alias="LOG_RETENTION_DAYS", ge=31)
    purge_interval_seconds: float = Field(default=3600, validation_alias="LOG_PURGE_INTERVAL_SECONDS", gt=0)
    purge_batch_size: int = Field(default=5000, validation_alias="LOG_PURGE_BATCH_SIZE", ge=1, le=100_000)
    # Where `reconcile` and `rebuild` read the ledger's balances and journal, and how many journal
    # transactions a rebuild reads (and writes, in one transaction) at a time.
    ledger_url: str = Field(default="http://127.0.0.1:8081", validation_alias="LEDGER_URL")
    rebuild_page_size: int = Field(default=500, validation_alias="REBUILD_PAGE_SIZE", ge=1, le=5000)
    # Ledger events are applied up to this many per transaction (whatever has arrived), after waiting
    # this long for more once the first arrives; the prefetch keeps the next batch coming meanwhile.
    consumer_batch_size: int = Field(default=500, validation_alias="CONSUMER_BATCH_SIZE", ge=1, le=5000)
    consumer_batch_window_seconds: float = Field(
        default=0.002, validation_alias="CONSUMER_BATCH_WINDOW_SECONDS", ge=0, le=1
    )
