"""`python -m gateway [serve|migrate|seed]`."""

from __future__ import annotations

from common.db import migrate
from common.runtime import run_cli
from common.settings import load_settings
from gateway.app import MIGRATIONS, SERVICE, create_app
from gateway.seed import seed
from gateway.settings import GatewaySettings


def main() -> None:
    settings = load_settings(GatewaySettings)

    async def migrate_command() -> int:
        applied = await migrate(settings.database_url, MIGRATIONS)
        print(f"gateway: {len(applied)} migration(s) applied: {', '.join(applied) or 'none'}")
        return 0

    async def seed_command() -> int:
        await migrate(settings.database_url, MIGRATIONS)
        added = await seed(settings.database_url)
        print(f"gateway: demo data ready ({added} people added)")
        return 0

    run_cli(
        SERVICE,
        settings.log_level,
        lambda: create_app(settings),
        settings.host,
        settings.port,
        {"migrate": migrate_command, "seed": seed_command},
    )


if __name__ == "__main__":
    main()
