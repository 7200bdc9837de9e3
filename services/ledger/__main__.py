"""`python -m services.ledger [serve|migrate|check]`."""

from __future__ import annotations

from common.runtime import migrate_command, run_cli
from common.settings import load_settings
from services.ledger.app import MIGRATIONS, SERVICE, create_app
from services.ledger.invariants.jobs import check_command
from services.ledger.settings import LedgerSettings


def main() -> None:
    settings = load_settings(LedgerSettings)
    run_cli(
        SERVICE,
        settings.log_level,
        lambda: create_app(settings),
        settings.host,
        settings.port,
        {
            "migrate": migrate_command(SERVICE, settings.database_url, MIGRATIONS),
            "check": check_command(settings.database_url),
        },
    )


if __name__ == "__main__":
    main()
