"""`python -m services.reporting [serve|migrate|reconcile|rebuild]`."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import aiohttp

from common.db import create_pool, migrate
from common.logs import get_logger
from common.runtime import run_cli
from common.settings import load_settings
from services.reporting.app import MIGRATIONS, create_app
from services.reporting.logs.store import planned_dsn
from services.reporting.maintenance import usecases as maintenance
from services.reporting.maintenance.ledger_client import LedgerClient, LedgerUnavailable
from services.reporting.settings import ReportingSettings

log = get_logger(__name__)

# Exit codes: 0 all well, 1 the log and the ledger differ, 2 the command could not do its work.
_DIFFERENT, _FAILED = 1, 2


def main() -> None:
    settings = load_settings(ReportingSettings)

    async def migrate_database() -> int:
        applied = await migrate(settings.database_url, MIGRATIONS)
        log.info("migrations_done", applied=applied)
        return 0

    async def reconcile_command() -> int:
        """Print every account whose log disagrees with the ledger; exit 1 if there is one."""
        await migrate(settings.database_url, MIGRATIONS)
        pool = await create_pool(planned_dsn(settings.database_url), 2)
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
                ledger = LedgerClient(settings.ledger_url, settings.internal_token_secret, session)
                result = await maintenance.reconcile(pool, ledger)
        except LedgerUnavailable as exc:
            sys.stderr.write(f"reporting: reconcile could not read the ledger: {exc}\n")
            return _FAILED
        finally:
            await pool.close()
        for difference in result.differences:
            print(f"DIFFERENT {difference}")
        print(f"reporting: {result.accounts_compared} account(s) compared, {len(result.differences)} differ")
        return _DIFFERENT if result.differences else 0

    async def rebuild_command() -> int:
        """Replay the ledger's journal into the log, in place, while the service keeps serving."""
        await migrate(settings.database_url, MIGRATIONS)
        pool = await create_pool(planned_dsn(settings.database_url), 2)
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
                ledger = LedgerClient(settings.ledger_url, settings.internal_token_secret, session)
                rebuilt = await maintenance.rebuild(
                    pool, ledger, settings.log_retention_days, datetime.now(UTC), settings.rebuild_page_size
                )
        except LedgerUnavailable as exc:
            sys.stderr.write(f"reporting: rebuild stopped, the ledger did not answer: {exc}; run it again to resume\n")
            return _FAILED
        finally:
            await pool.close()
        print(
            f"reporting: replayed {rebuilt.transactions} ledger transaction(s) up to seq {rebuilt.last_seq}, "
            f"{rebuilt.entries_replayed} log row(s)"
        )
        return 0

    run_cli(
        "reporting",
        settings.log_level,
        lambda: create_app(settings),
        settings.host,
        settings.port,
        {"migrate": migrate_database, "reconcile": reconcile_command, "rebuild": rebuild_command},
    )


if __name__ == "__main__":
    main()
