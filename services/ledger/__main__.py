"""`python -m services.ledger [serve|migrate|check]`."""

from __future__ import annotations

from common.db import connect
from common.runtime import migrate_command, run_cli
from common.settings import load_settings
from services.ledger import invariants
from services.ledger.app import MIGRATIONS, SERVICE, create_app
from services.ledger.settings import LedgerSettings


def main() -> None:
    settings = load_settings(LedgerSettings)

    async def check_command() -> int:
        conn = await connect(settings.database_url)
        try:
            results = await invariants.check(conn)
        finally:
            await conn.close()
        for result in results:
            print(f"{'ok  ' if result.held else 'FAIL'} {result.name}: {result.violations} violation(s)")
        breached = [r for r in results if not r.held]
        print(f"ledger: {len(results)} invariants checked, {len(breached)} breached")
        return 1 if breached else 0

    run_cli(
        SERVICE,
        settings.log_level,
        lambda: create_app(settings),
        settings.host,
        settings.port,
        {"migrate": migrate_command(SERVICE, settings.database_url, MIGRATIONS), "check": check_command},
    )


if __name__ == "__main__":
    main()
