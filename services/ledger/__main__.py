"""`python -m services.ledger [serve|migrate]`."""

from __future__ import annotations

from common.db import migrate
from common.runtime import run_cli
from common.settings import load_settings
from services.ledger.app import MIGRATIONS, SERVICE, create_app
from services.ledger.settings import LedgerSettings


def main() -> None:
    settings = load_settings(LedgerSettings)

    async def migrate_command() -> int:
        applied = await migrate(settings.database_url, MIGRATIONS)
        print(f"ledger: {len(applied)} migration(s) applied: {', '.join(applied) or 'none'}")
        return 0

    run_cli(
        SERVICE,
        settings.log_level,
        lambda: create_app(settings),
        settings.host,
        settings.port,
        {"migrate": migrate_command},
    )


if __name__ == "__main__":
    main()
